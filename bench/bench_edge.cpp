// EDGE end to end, this project vs PyTorch peers, in one run on the same data, model, batch
// sizes and thread count (issues 7 and 19):
//   (a) training step: ID + OE batch, forward, EDGE loss (BCE + alpha softplus + beta gap,
//       bottom-k), backward, SGD step; images/s (ID + OE) per epoch of --steps steps,
//   (b) evaluation: images/s to logits + JointEnergy scores (eval mode, no grad),
//   (c) metrics: FPR95 + AUROC + AUPR on --scores scores (half ID, half OOD), seconds.
// Columns: `edge` (this program in the compute mode of --precision / --channels_last, by
// default auto, i.e. the program's own default mode for this CPU (see BENCHMARKS.md), through
// the real Trainer, predict_logits and compute_ood_metrics), `edge fp32` (the reference compute
// mode), and the peers of bench/edge_peer.py:
//   `official`  fp32 NCHW loop as the official EDGE code runs it, eager no_grad evaluation,
//               sklearn for metrics (unchanged since issue 7, so train_vs_official stays
//               comparable with older runs);
//   `best`      the strongest plain PyTorch on this CPU: before the sessions one calibration
//               process races every configuration a user could pick (fp32 / bf16 autocast x
//               NCHW / channels-last) and the fastest trains here; its evaluation is the frozen,
//               optimised TorchScript model in the faster layout (scores checked equal to the
//               eager model's), its metrics a numpy sort-based computation (checked equal to
//               sklearn's to 1e-12 in the peer, request "verify").
// Both `best` processes (calibration and sessions) run under the allocator policy of the C++
// side (GLIBC_TUNABLES = src/common/allocator.cpp's mallopt values): the C++ side keeps freed
// memory in its heap, and a PyTorch user can do the same without code. Every worker inherits
// this program's environment, so DNNL_MAX_CPU_ISA / ONEDNN_MAX_CPU_ISA (and ATEN_CPU_CAPABILITY)
// cap the peers' oneDNN (the same libdnnl) as they cap the C++ side's kernels and its CPU
// detection (src/common/cpu_features.cpp); the report names the caps in force.
//
// Every side runs in its own worker process (bench/support/worker_process.h; this program
// re-runs itself with --worker for its own sides) and the sides are interleaved: round r
// runs one epoch (one evaluation pass, one metrics computation) of every side, in an order
// rotated by r. On a shared or throttled machine a slow spell then hits all sides alike, and
// the ratios are taken per round (edge and peer measured seconds apart) and summarised by
// their median [min-max]. Round 0 of training and evaluation is a warm-up and not reported.
// Each phase's peak memory is the worker's VmHWM, reset at the start of the phase.
// --sessions N (default 3) repeats all this with fresh worker processes: on the development
// VM a process's speed can differ from the next one's by 20-30 % for its whole life (both
// sides show it), so one process per side would decide the ratios by luck.
// The data are synthetic uint8 images of fashion-lt's shape (1x56x56) and multi-hot labels,
// written once to a temporary folder that every worker reads (same images and labels; the
// peers also read the batch orders and flips, the C++ Trainer draws its own).
// FLOP figures: sustained training GFLOP/s (3x the forward FLOPs per image) as a fraction of the
// GEMM peak of the precision that side computes in, measured in this run (torch::mm of two
// 2048x2048 matrices, fp32 and bf16, same thread count, before and after the sessions).
// The last line is `train_vs_best=... eval_vs_frozen=... metrics_vs_numpy=... train_vs_official=...`
// (the `edge` column vs the `best` peer's training, frozen evaluation and numpy metrics, and vs
// the official-style training; medians of the per-round ratios).
// --scale adds this project's time and peak memory for 1x/2x/4x the training-set size and
// 1x/4x/16x the evaluated images (in this process, after the workers have ended).
//
//   build/bench/bench_edge [--threads 2] [--steps 20] [--repeats 5] [--eval_images 2000]
//                          [--scores 10000000] [--metric_repeats 5] [--sessions 3] [--scale]
//                          [--precision auto|bf16|fp32] [--channels_last auto|true|false]
//                          [--python /usr/bin/python3 | --no-python] [--no_reference] [--tmp DIR]
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge_bench/options.h"
#include "edge_bench/report.h"
#include "edge_bench/sides.h"
#include "edge_bench/worker.h"
#include "edge_bench/workload.h"

using namespace edge::bench::edge_bench;

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
    if (!o.worker.empty()) return run_worker(o);
  } catch (const std::exception& e) {
    std::cerr << "bench_edge" << (o.worker.empty() ? "" : " worker " + o.worker) << ": " << e.what() << "\n";
    return 2;
  }
  torch::set_num_interop_threads(1);
  torch::set_num_threads(o.threads);
  const std::string edge_mode = o.precision + (o.channels_last ? " channels-last" : " NCHW");

  // Shared data, written for the workers.
  torch::manual_seed(0);
  const int64_t n_train = o.steps * kBatch;
  const std::filesystem::path dir = o.tmp.empty()
      ? std::filesystem::temp_directory_path() / fmt::format("bench_edge_{}", getpid())
      : o.tmp;
  std::filesystem::create_directories(dir);
  write_shared_data(o, dir, n_train);
  const auto spec_file = dir / "spec.json";
  std::ofstream(spec_file) << make_spec(o, dir).dump();

  std::vector<Side> sides;
  RunInfo info;
  int status = 0;
  try {
    info.peaks.measure();
    sides = make_sides(o, spec_file, info);
    for (int session = 0; session < o.sessions; ++session) run_session(o, sides, session, info);
    info.peaks.measure();
    check_metric_values(sides);
  } catch (const std::exception& e) {
    std::cerr << "bench_edge: " << e.what() << "\n";
    status = 1;
  }
  for (Side& s : sides) s.worker.reset();  // quit
  std::filesystem::remove_all(dir);
  if (status != 0) return status;

  print_header(o, info, edge_mode);
  print_table(sides);
  print_peer_choices(info);
  const std::string last_line = print_ratios(sides);
  print_flops(o, sides, info);
  if (o.scale) print_scale(o, n_train);
  std::cout << "\n" << last_line << "\n";
  return 0;
}
