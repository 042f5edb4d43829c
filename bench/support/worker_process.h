// A benchmark side running in its own process and answering one request at a time over
// pipes. bench_edge runs every side (this project's modes and the Python peers) this way so
// that it can interleave them round by round: on a shared or throttled machine a slow spell
// then hits every side alike instead of whichever side happened to be running, and each
// side's peak memory stays its own (VmHWM is per process).
//
// Protocol: one request per line on the worker's stdin; the worker answers with one line
// "RESULT <json>" on its stdout (other stdout lines are skipped; stderr is passed through).
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edge::bench {

class WorkerProcess {
 public:
  // Starts `argv` (argv[0] is looked up on PATH) with pipes to its stdin and stdout, in this
  // process's environment with the "NAME=value" entries of `env` added or replaced.
  WorkerProcess(std::string name, const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
  ~WorkerProcess();  // sends "quit", closes the pipes and reaps the process
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Sends `line` and returns the JSON of the next RESULT line; throws std::runtime_error
  // naming the worker if it exits or answers {"error": ...}.
  nlohmann::json request(const std::string& line);
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

// The worker side of the protocol: reads requests from stdin until "quit" or end of input
// and answers each with handler(request) as a RESULT line; an exception becomes
// {"error": what()} so the coordinator can report it.
void serve_requests(const std::function<nlohmann::json(const std::string&)>& handler);

// This process's peak resident memory (VmHWM) in MiB since the last reset, and the reset
// (Linux /proc/self/clear_refs); NaN where /proc is absent.
double peak_mb();
void reset_peak();

}  // namespace edge::bench
