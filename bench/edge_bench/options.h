// bench_edge's command line and the fixed sizes of its workload (bench/bench_edge.cpp says
// what the benchmark measures).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace edge::bench::edge_bench {

struct Options {
  int threads = 2;
  int64_t steps = 20;
  int repeats = 5;
  int64_t eval_images = 2000;
  int64_t scores = 10'000'000;
  int metric_repeats = 5;
  // Fresh worker processes per session: a process's speed can differ from the next one's by
  // 20-30% on this VM (memory placement), so every side gets several processes.
  int sessions = 3;
  bool scale = false;
  bool reference = true;
  // The default compute mode (auto: bf16 channels-last where the CPU has native bf16, else
  // fp32 NCHW); the reference mode is measured beside it as `edge fp32`.
  std::string precision = "auto";
  std::string channels_last_flag = "auto";  // --channels_last as given
  bool channels_last = false;               // resolved for the precision
  std::string python = "/usr/bin/python3";
  std::string peer = (std::filesystem::path(EDGE_BENCH_DIR) / "edge_peer.py").string();
  std::filesystem::path tmp;
  // Internal: run as the worker of one of this program's sides (see the header comment).
  std::string worker;
  std::filesystem::path spec;
};

// The options of argv; --help prints the usage and exits 0, a bad flag throws runtime_error.
Options parse(int argc, char** argv);

constexpr int64_t kBatch = 128, kOeBatch = 128, kEvalBatch = 500, kClasses = 8, kHidden = 1000;
constexpr int kCalibrationRounds = 3;
constexpr int64_t kCalibrationSteps = 6;

}  // namespace edge::bench::edge_bench
