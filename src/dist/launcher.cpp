#include "edge/dist/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "edge/common/interrupt.h"

namespace edge::dist {

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open a socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error(fmt::format("cannot find a free port on 127.0.0.1: {}", why));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string self_executable() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

namespace {

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int launch_local_workers(const std::string& exe, const std::vector<std::string>& args,
                         const std::vector<std::string>& devices, std::chrono::seconds grace) {
  const int world = static_cast<int>(devices.size());
  const int port = free_local_port();
  // SIGINT / SIGTERM to this process are handed to every worker (below), which stop together
  // at a step (train::Trainer): the workers sit in their own process groups, so that Ctrl-C
  // reaches them once, through here, and not a second time from the terminal (a second
  // signal is the user insisting, and ends a worker at once).
  const InterruptScope interrupts;
  const pid_t launcher = ::getpid();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < world; ++rank) {
    std::vector<std::string> argv{exe};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--device", devices[rank]});
    const std::vector<std::pair<std::string, std::string>> env{
        {"RANK", std::to_string(rank)},        {"LOCAL_RANK", std::to_string(rank)},
        {"WORLD_SIZE", std::to_string(world)}, {"LOCAL_WORLD_SIZE", std::to_string(world)},
        {"MASTER_ADDR", "127.0.0.1"},          {"MASTER_PORT", std::to_string(port)}};
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      for (pid_t p : pids) ::kill(p, SIGKILL);
      throw std::runtime_error(fmt::format("cannot start training process {}: {}", rank, std::strerror(errno)));
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      // A launcher that dies (kill -9) takes its workers with it, through their clean SIGTERM path.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::_exit(128 + SIGTERM);  // it died before prctl
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      ::execv(exe.c_str(), cargv.data());
      std::fprintf(stderr, "edge: error: cannot run %s: %s\n", exe.c_str(), std::strerror(errno));
      ::_exit(127);
    }
    pids.push_back(pid);
  }

  // Poll only our own children (never waitpid(-1): the caller may have others).
  int result = 0;
  size_t running = pids.size();
  bool failed = false;
  std::chrono::steady_clock::time_point deadline{};
  bool forwarded = false;
  while (running > 0) {
    if (const int sig = pending_interrupt(); sig != 0 && !forwarded) {
      forwarded = true;
      for (pid_t p : pids)
        if (p > 0) ::kill(p, sig);
    }
    for (pid_t& p : pids) {
      if (p <= 0) continue;
      int status = 0;
      const pid_t done = ::waitpid(p, &status, WNOHANG);
      if (done == 0 || (done < 0 && errno == EINTR)) continue;
      p = -1;
      --running;
      const int code = done > 0 ? exit_code(status) : 1;
      if (code != 0 && !failed) {
        failed = true;
        result = code;
        deadline = std::chrono::steady_clock::now() + grace;
      }
    }
    if (running > 0 && failed && std::chrono::steady_clock::now() > deadline) {
      for (pid_t& p : pids) {
        if (p <= 0) continue;
        std::fprintf(stderr, "edge: error: killing training process %d, still running %lld s after another failed\n",
                     int(p), static_cast<long long>(grace.count()));
        ::kill(p, SIGKILL);
        int status = 0;
        ::waitpid(p, &status, 0);
        p = -1;
        --running;
      }
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return result;
}

}  // namespace edge::dist
