#include "support/test_support.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>
#include <sstream>
#include <sys/wait.h>

#include "edge/app/commands.h"

namespace edge::test {

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
