#include "support/worker_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace edge::bench {

namespace {

// `environ` with the "NAME=value" entries of `overrides` replacing those of the same name. Built
// before fork: after it, in a multi-threaded parent, the child may only call async-signal-safe
// functions, and setenv allocates.
std::vector<std::string> merged_environment(const std::vector<std::string>& overrides) {
  const auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const auto& o : overrides) replaced = replaced || name_of(o) == name_of(entry);
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

}  // namespace

WorkerProcess::WorkerProcess(std::string name, const std::vector<std::string>& argv,
                             const std::vector<std::string>& env)
    : name_(std::move(name)) {
  if (argv.empty()) throw std::runtime_error("worker " + name_ + ": empty command");
  int in_pipe[2], out_pipe[2];  // [0] read end, [1] write end
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) throw std::runtime_error("worker " + name_ + ": pipe failed");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::vector<std::string> environment = merged_environment(env);
  std::vector<char*> envp;
  for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::cout.flush();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("worker " + name_ + ": fork failed");
  if (pid_ == 0) {
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    close(in_pipe[0]);
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(out_pipe[1]);
    execvpe(args[0], args.data(), envp.data());
    std::fprintf(stderr, "worker %s: cannot run %s\n", name_.c_str(), args[0]);
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  // A worker that dies makes a later write fail with EPIPE, not kill the coordinator (set
  // after the fork: an ignored signal would stay ignored in the worker across exec).
  signal(SIGPIPE, SIG_IGN);
  to_ = fdopen(in_pipe[1], "w");
  from_ = fdopen(out_pipe[0], "r");
  if (!to_ || !from_) throw std::runtime_error("worker " + name_ + ": fdopen failed");
}

WorkerProcess::~WorkerProcess() {
  if (to_) {
    std::fputs("quit\n", to_);
    std::fclose(to_);  // end of input also ends the worker
  }
  if (from_) std::fclose(from_);
  if (pid_ > 0) {
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

nlohmann::json WorkerProcess::request(const std::string& line) {
  if (std::fprintf(to_, "%s\n", line.c_str()) < 0 || std::fflush(to_) != 0)
    throw std::runtime_error("worker " + name_ + " is gone (request '" + line + "')");
  std::string got;
  for (;;) {
    got.clear();
    int ch = 0;
    while ((ch = std::fgetc(from_)) != EOF && ch != '\n') got += char(ch);
    if (ch == EOF && got.empty())
      throw std::runtime_error("worker " + name_ + " exited without answering '" + line + "'");
    if (got.rfind("RESULT ", 0) == 0) break;
  }
  nlohmann::json j = nlohmann::json::parse(got.substr(7));
  if (j.is_object() && j.contains("error"))
    throw std::runtime_error("worker " + name_ + ", request '" + line + "': " + j.at("error").get<std::string>());
  return j;
}

void serve_requests(const std::function<nlohmann::json(const std::string&)>& handler) {
  std::string line;
  while (std::getline(std::cin, line) && line != "quit") {
    nlohmann::json answer;
    try {
      answer = handler(line);
    } catch (const std::exception& e) {
      answer = {{"error", e.what()}};
    }
    std::cout << "RESULT " << answer.dump() << std::endl;
  }
}

void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

double peak_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return std::nan("");
}

}  // namespace edge::bench
