#include "support/test_support.h"
#include "support/chromium.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "edge/app/commands.h"

namespace edge::test {

std::string chromium_path() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

int run_chromium(const std::string& exe, const std::filesystem::path& profile, const std::string& args) {
  const std::string cmd = fmt::format("timeout 60 {} --headless --disable-gpu --no-sandbox --disable-dev-shm-usage "
                                      "--user-data-dir='{}' {} 2>/dev/null",
                                      exe, profile.string(), args);
  return std::system(cmd.c_str());
}

Proc start_edge(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                const std::filesystem::path& log_stem) {
  Proc p{-1, log_stem.string() + ".out", log_stem.string() + ".err"};
  std::vector<std::string> argv{EDGE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  p.pid = ::fork();
  if (p.pid == 0) {
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    const int o = ::open(p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  return p;
}

int wait_for(Proc& p, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(p.pid, &status, WNOHANG) == p.pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(p.pid, SIGKILL);
  ::waitpid(p.pid, nullptr, 0);
  return -1;
}

std::string slurp(const std::filesystem::path& f) {
  std::ifstream in(f);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t count_occurrences(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

FileSizeLimit::FileSizeLimit(uint64_t bytes) {
  rlimit lim{};
  getrlimit(RLIMIT_FSIZE, &lim);
  old_cur_ = lim.rlim_cur;
  old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
  lim.rlim_cur = bytes;
  setrlimit(RLIMIT_FSIZE, &lim);
}

FileSizeLimit::~FileSizeLimit() {
  rlimit lim{};
  getrlimit(RLIMIT_FSIZE, &lim);
  lim.rlim_cur = old_cur_;
  setrlimit(RLIMIT_FSIZE, &lim);
  std::signal(SIGXFSZ, old_handler_);
}

std::filesystem::path fixtures_dir() { return EDGE_TEST_FIXTURES; }

std::string system_python() {
  std::string p = EDGE_SYSTEM_PYTHON;
  if (p.empty() || p.find("NOTFOUND") != std::string::npos) return "";
  return std::filesystem::exists(p) ? p : "";
}

bool python_has_modules(const std::string& modules) {
  const std::string py = system_python();
  if (py.empty()) return false;
  const std::string cmd = py + " -c 'import " + modules + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::string run_python(const std::string& script) {
  const std::string py = system_python();
  if (py.empty()) throw std::runtime_error("Debian python3 not found");
  TempDir dir;
  const auto file = dir.path() / "script.py";
  std::ofstream(file) << script;
  const std::string cmd = py + " " + file.string() + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed");
  std::string out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("python failed:\n" + out);
  return out;
}

CliResult run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "edge");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  const int code = edge::app::cli_main(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("edge-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace edge::test
