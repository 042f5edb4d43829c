// The sides of bench_edge's table (this project's modes and the Python peers), each in its own
// worker process, and the sessions that measure them in interleaved rounds.
#pragma once

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge_bench/options.h"
#include "support/worker_process.h"

namespace edge::bench::edge_bench {

using nlohmann::json;

// One side of the table: how to start its worker, the worker of the current session and
// what the phases measured over all sessions.
struct Side {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value" added to the worker's environment
  std::string precision;         // what its training computes in, for its GEMM peak
  std::unique_ptr<edge::bench::WorkerProcess> worker;
  std::vector<double> train, eval, metrics;  // per reported round, sessions in order
  std::vector<double> session_train;         // median training images/s of each session
  double train_mb = std::nan(""), eval_mb = std::nan(""), metrics_mb = std::nan("");  // max over sessions
  std::map<std::string, json> last;          // the latest answer to each request
};

// GFLOP/s of torch::mm on two 2048x2048 matrices of `dtype` in this process (the coordinator,
// with the sides' thread count; the workers wait for requests meanwhile): the best of up to five
// calls within ~2 s. The first call warms the thread pool and packing buffers and is left out,
// unless it is slow (bf16 without native support: seconds per call), when it is the measurement.
// NaN where this process has no kernel for `dtype` (bf16 under an ISA cap below AVX-512 on an
// AVX-512 CPU: LibTorch still sends bf16 GEMMs to oneDNN, which then has none).
double gemm_gflops(torch::ScalarType dtype);

// The GEMM peaks of both precisions, measured before and after the sessions (the machine's speed
// drifts over minutes); the peak is the larger.
struct GemmPeaks {
  std::map<std::string, std::vector<double>> gflops;  // "fp32" / "bf16" -> one figure per measurement
  void measure() {
    gflops["fp32"].push_back(gemm_gflops(torch::kFloat32));
    gflops["bf16"].push_back(gemm_gflops(torch::kBFloat16));
  }
  double peak(const std::string& precision) const {  // NaN where no measurement ran
    double best = std::nan("");
    for (double g : gflops.at(precision))
      if (std::isfinite(g) && !(g <= best)) best = g;
    return best;
  }
};

// What the run found besides the sides' columns, for the report.
struct RunInfo {
  double fwd_flops = std::nan("");
  std::string versions = fmt::format("LibTorch {}", TORCH_VERSION);
  json calibration;               // calibrate_peers' answer
  std::vector<json> frozen;       // the best peer's evaluation choice, per session
  json verify;                    // numpy vs sklearn, from the best peer
  GemmPeaks peaks;
};

// The side called `name`, or nullptr.
const Side* find_side(const std::vector<Side>& sides, const std::string& name);
Side* find_side(std::vector<Side>& sides, const std::string& name);

// The environment every `best` process gets: the C++ side's mallopt settings as glibc tunables
// (after any the user set, so that they take effect).
std::string peer_allocator_env();

// The sides of the table; with Python, first the calibration that picks the best peer.
std::vector<Side> make_sides(const Options& o, const std::filesystem::path& spec_file, RunInfo& info);

// One session: fresh workers for every side, then the training, evaluation and metrics phases.
void run_session(const Options& o, std::vector<Side>& sides, int session, RunInfo& info);

// Same scores, same definitions: this project's AUROC and AUPR-In must agree with sklearn's to
// 1e-9, numpy's all three with sklearn's to 1e-12 (the peer asserts it too, in "verify").
void check_metric_values(std::vector<Side>& sides);

}  // namespace edge::bench::edge_bench
