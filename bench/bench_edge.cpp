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
// (--no_reference leaves out the `edge fp32` column, for quick A/B runs of one mode.)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/allocator.h"
#include "edge/data/fashion_lt.h"
#include "edge/data/readers.h"
#include "edge/data/registry.h"
#include "edge/train/predict.h"
#include "edge/metrics/ood_metrics.h"
#include "edge/model/torch_file.h"
#include "edge/score/ood_scores.h"
#include "edge/train/trainer.h"
#include "edge/train/training_data.h"
#include "support/peer_process.h"
#include "support/sample_stats.h"
#include "support/worker_process.h"

namespace {

using edge::bench::cpu_name;
using edge::bench::peak_mb;
using edge::bench::reset_peak;

using Clock = std::chrono::steady_clock;
using Stat = edge::bench::SampleStats;
using nlohmann::json;

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

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--steps") o.steps = std::stoll(value());
    else if (a == "--repeats") o.repeats = std::stoi(value());
    else if (a == "--eval_images") o.eval_images = std::stoll(value());
    else if (a == "--scores") o.scores = std::stoll(value());
    else if (a == "--metric_repeats") o.metric_repeats = std::stoi(value());
    else if (a == "--sessions") o.sessions = std::stoi(value());
    else if (a == "--scale") o.scale = true;
    else if (a == "--precision") o.precision = value();
    else if (a == "--channels_last") o.channels_last_flag = value();
    else if (a == "--python") o.python = value();
    else if (a == "--peer") o.peer = value();
    else if (a == "--no-python") o.python.clear();
    else if (a == "--no_reference") o.reference = false;
    else if (a == "--tmp") o.tmp = value();
    else if (a == "--worker") o.worker = value();
    else if (a == "--spec") o.spec = value();
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: bench_edge [--threads N] [--steps N] [--repeats N] [--eval_images N] [--scores N] "
                   "[--metric_repeats N] [--sessions N] [--scale] [--precision auto|fp32|bf16] [--channels_last auto|true|false] "
                   "[--python PATH | --no-python] [--no_reference] [--tmp DIR]\n";
      std::exit(0);
    } else {
      throw std::runtime_error("unknown flag " + a);
    }
  }
  if (o.threads < 1 || o.steps < 1 || o.repeats < 1 || o.eval_images < 1 || o.scores < 2 || o.metric_repeats < 1 ||
      o.sessions < 1)
    throw std::runtime_error("counts must be positive");
  o.precision = edge::model::resolve_precision(o.precision, torch::kCPU);  // the columns name what ran
  o.channels_last = edge::model::resolve_channels_last(o.channels_last_flag, o.precision, torch::kCPU);
  return o;
}

constexpr int64_t kBatch = 128, kOeBatch = 128, kEvalBatch = 500, kClasses = 8, kHidden = 1000;

edge::train::TrainConfig bench_config(int threads, int64_t id_train, const std::string& precision, bool cl) {
  edge::train::TrainConfig c;
  c.objective = "joint";
  c.start_epoch = 0;  // the gap term (bottom-k, pairwise relu) in every step, as in EDGE's second phase
  c.batch_size = kBatch;
  c.oe_batch_size = kOeBatch;
  c.threads = threads;
  c.data.id_train = id_train;
  c.model.hidden = kHidden;
  c.model.num_classes = kClasses;
  c.precision = precision;
  c.channels_last = cl ? "true" : "false";
  c.eval_batch_size = kEvalBatch;
  return c;
}

// Images of fashion-lt's shape (uint8 [N, 1, 56, 56]) as an in-memory set.
edge::data::Dataset memory_set(const std::string& name, torch::Tensor images, torch::Tensor labels = {}) {
  edge::data::Dataset d;
  d.name = name;
  d.images = edge::data::memory_source(std::move(images), name);
  d.labels = std::move(labels);
  return d;
}

// MiB of a set of such images, as uint8.
double image_mb(const edge::data::Dataset& set) { return double(set.size()) * 56.0 * 56.0 / (1024.0 * 1024.0); }

// The synthetic benchmark of the given tensors (fashion-lt's shape, kClasses classes).
edge::data::Benchmark synthetic_benchmark(torch::Tensor id_images, torch::Tensor id_labels, torch::Tensor oe_images,
                                          torch::Tensor eval_images) {
  edge::data::Benchmark b;
  b.name = "synthetic";
  for (int64_t c = 0; c < kClasses; ++c) b.class_names.push_back(fmt::format("c{}", c));
  b.id_train = memory_set("id_train", std::move(id_images), std::move(id_labels));
  b.id_train.class_names = b.class_names;
  b.oe_train = memory_set("oe_train", std::move(oe_images));
  b.id_test = memory_set("eval", std::move(eval_images));
  return b;
}

edge::data::Benchmark make_data(int64_t n_train, int64_t n_eval) {
  return synthetic_benchmark(torch::randint(0, 256, {n_train, 1, 56, 56}, torch::kUInt8),
                             (torch::rand({n_train, kClasses}) < 0.3).to(torch::kFloat32),
                             torch::randint(0, 256, {n_train, 1, 56, 56}, torch::kUInt8),
                             torch::randint(0, 256, {n_eval, 1, 56, 56}, torch::kUInt8));
}

// The training data of a run on `data` with the bench configuration's dataset recipe.
edge::train::PipelineData training_data(const edge::data::Benchmark& data, const edge::train::TrainConfig& c) {
  return edge::train::pipeline_data(data, edge::data::run_recipe(c.dataset, c.image_size, c.hflip), c.workers);
}

// One evaluation pass: logits + JointEnergy of every image; images/s. Through the input
// pipeline and the run's evaluation transform, as `edge eval` reads any set.
double eval_pass(edge::model::MultiLabelNet net, const edge::data::Dataset& set, const edge::model::ComputeMode& mode) {
  const edge::data::Transform t = edge::data::run_recipe(edge::train::TrainConfig{}.dataset, 0, false).eval;
  const auto t0 = Clock::now();
  const auto logits = edge::train::predict_logits(net, set, t, kEvalBatch, 2, nullptr, nullptr, mode);
  const auto s = edge::score::compute_score(edge::score::ScoreKind::EnergySum, logits);
  TORCH_CHECK(s.size(0) == set.size(), "bench: expected one score per image");
  return double(set.size()) / std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<double> read_raw(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::vector<double> v(size_t(in.tellg()) / sizeof(double));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * sizeof(double)));
  return v;
}

void write_raw(const std::filesystem::path& file, const std::vector<double>& v) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(double)));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

// The worker of one of this program's sides ("edge": --precision/--channels_last of the
// coordinator, "edge-fp32": the reference mode), answering the requests of edge_peer.py.
int run_worker(const Options& o) {
  std::ifstream in(o.spec);
  if (!in) throw std::runtime_error("cannot read the worker spec " + o.spec.string());
  const json spec = json::parse(in);
  torch::set_num_interop_threads(1);
  torch::set_num_threads(spec.at("threads").get<int>());
  const std::filesystem::path dir = spec.at("dir").get<std::string>();
  const auto load = [&](const char* name) { return edge::model::load_torch_file(dir / name).toTensor(); };
  const edge::data::Benchmark data = synthetic_benchmark(load("id_images.pt"), load("id_labels.pt"),
                                                         load("oe_images.pt"), load("eval_images.pt"));
  const bool reference = o.worker == "edge-fp32";
  if (!reference && o.worker != "edge") throw std::runtime_error("unknown worker " + o.worker);
  auto config = bench_config(spec.at("threads").get<int>(), data.id_train.size(),
                             reference ? "fp32" : spec.at("precision").get<std::string>(),
                             !reference && spec.at("channels_last").get<bool>());
  config.n_epoch = spec.at("repeats").get<int>() + 1;
  std::ostringstream log;
  std::unique_ptr<edge::train::Trainer> trainer;
  std::vector<double> id_scores, ood_scores;
  edge::bench::serve_requests([&](const std::string& request) -> json {
    if (request == "info") return json::object();
    if (request == "train") {
      if (!trainer) trainer = std::make_unique<edge::train::Trainer>(config, training_data(data, config), log);
      return {{"img_s", trainer->train_epoch().images_per_s}};
    }
    if (request == "eval") {
      if (!trainer) throw std::runtime_error("eval before train");
      return {{"img_s", eval_pass(trainer->model(), data.id_test, trainer->config().compute_mode())}};
    }
    if (request == "metrics") {
      if (id_scores.empty()) {
        id_scores = read_raw(dir / "scores_id.f64");
        ood_scores = read_raw(dir / "scores_ood.f64");
      }
      const auto t0 = Clock::now();
      const auto m = edge::metrics::compute_ood_metrics(edge::metrics::ScoreView(id_scores),
                                                        edge::metrics::ScoreView(ood_scores));
      return {{"s", std::chrono::duration<double>(Clock::now() - t0).count()},
              {"values", {{"auroc", m.auroc}, {"aupr_in", m.aupr_in}, {"fpr95", m.fpr95}}}};
    }
    if (request == "peak") {
      const double mb = peak_mb();
      reset_peak();
      return {{"mb", mb}};
    }
    throw std::runtime_error("unknown request '" + request + "'");
  });
  return 0;
}

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

// Runs `rounds` rounds of `request` on every side in `sides` (rotating the order, starting
// at `first`), after `warmup` unreported rounds; appends `key` of each answer to `out(side)`
// and keeps each side's largest peak memory of the phase in `peak(side)`.
template <class Out, class Peak>
void run_phase(std::vector<Side*> sides, const std::string& request, const std::string& key, int warmup, int rounds,
               size_t first, Out out, Peak peak) {
  for (Side* s : sides) s->worker->request("peak");  // resets VmHWM
  const size_t n = sides.size();
  for (int r = 0; r < warmup + rounds; ++r) {
    for (size_t i = 0; i < n; ++i) {
      Side* s = sides[(i + first + size_t(r)) % n];
      const json answer = s->worker->request(request);
      if (r >= warmup) out(*s).push_back(answer.at(key).get<double>());
      s->last[request] = answer;
    }
    std::cerr << fmt::format("bench_edge: {} round {}/{} done\n", request, r + 1, warmup + rounds);
  }
  for (Side* s : sides) {
    const double mb = s->worker->request("peak").at("mb").get<double>();
    if (!(peak(*s) >= mb)) peak(*s) = mb;  // also replaces the initial NaN
  }
}

Side* find_side(std::vector<Side>& sides, const std::string& name) {
  for (Side& s : sides)
    if (s.name == name) return &s;
  return nullptr;
}

// Per-round ratios a[r] / b[r] (both measured in the same round).
Stat paired_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) r.push_back(a[i] / b[i]);
  if (r.empty()) return {std::nan(""), std::nan(""), std::nan("")};
  return edge::bench::sample_stats(r);
}

std::string fmt_stat(const Stat& s, int digits) {
  if (!std::isfinite(s.median)) return "-";
  return fmt::format("{:.{}f} [{:.{}f}-{:.{}f}]", s.median, digits, s.lo, digits, s.hi, digits);
}
std::string fmt_stat(const std::vector<double>& v, int digits) {
  return v.empty() ? "-" : fmt_stat(edge::bench::sample_stats(v), digits);
}
std::string fmt_mb(double v) { return std::isfinite(v) ? fmt::format("{:.0f}", v) : "-"; }

// GFLOP/s of torch::mm on two 2048x2048 matrices of `dtype` in this process (the coordinator,
// with the sides' thread count; the workers wait for requests meanwhile): the best of up to five
// calls within ~2 s. The first call warms the thread pool and packing buffers and is left out,
// unless it is slow (bf16 without native support: seconds per call), when it is the measurement.
// NaN where this process has no kernel for `dtype` (bf16 under an ISA cap below AVX-512 on an
// AVX-512 CPU: LibTorch still sends bf16 GEMMs to oneDNN, which then has none).
double gemm_gflops(torch::ScalarType dtype) {
  constexpr int64_t n = 2048;
  const torch::Tensor a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
  double best = 0.0, spent = 0.0;
  for (int call = 0, timed = 0; timed < 5 && spent < 2.0; ++call) {
    const auto t0 = Clock::now();
    torch::Tensor c;
    try {
      c = torch::mm(a, b);
    } catch (const std::exception&) {  // dnnl::error, not c10::Error
      return std::nan("");
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    spent += s;
    if (call == 0 && s < 0.5) continue;
    ++timed;
    best = std::max(best, 2.0 * double(n) * double(n) * double(n) / s / 1e9);
  }
  return best;
}

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

// The environment every `best` process gets: the C++ side's mallopt settings as glibc tunables
// (after any the user set, so that they take effect).
std::string peer_allocator_env() {
  const std::string ours = fmt::format("glibc.malloc.trim_threshold={}:glibc.malloc.mmap_threshold={}",
                                       edge::kTrimThresholdBytes, edge::kMmapThresholdBytes);
  const char* user = std::getenv("GLIBC_TUNABLES");
  return "GLIBC_TUNABLES=" + (user && *user ? std::string(user) + ":" + ours : ours);
}

// The CPU-ISA switches in force (passed on to every worker by inheritance), for the report.
std::string isa_caps() {
  std::vector<std::string> caps;
  for (const char* name : {"DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"})
    if (const char* v = std::getenv(name); v && *v) caps.push_back(fmt::format("{}={}", name, v));
  return caps.empty() ? "none" : fmt::format("{}", fmt::join(caps, " "));
}

constexpr int kCalibrationRounds = 3;
constexpr int64_t kCalibrationSteps = 6;

// The race of edge_peer.py's training configurations in one process under the peer allocator
// setting; its answer: images/s per config, rounds each ran, failures and the fastest ("best").
json calibrate_peers(const Options& o, const std::filesystem::path& spec_file, const std::string& alloc_env) {
  std::cerr << "bench_edge: calibrating the PyTorch training configurations\n";
  edge::bench::WorkerProcess calibration("calibrate", {o.python, o.peer, spec_file.string(), "calibrate"},
                                         {alloc_env});
  return calibration.request("calibrate");
}

// Writes the shared data (images, labels, batch orders, flips, scores) for the workers.
void write_shared_data(const Options& o, const std::filesystem::path& dir, int64_t n_train) {
  const edge::data::Benchmark data = make_data(n_train, o.eval_images);
  std::mt19937_64 rng(1);
  std::vector<double> id_scores(o.scores / 2), ood_scores(o.scores - o.scores / 2);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (auto& x : id_scores) x = normal(rng) + 1.0;
  for (auto& x : ood_scores) x = normal(rng);
  using edge::model::save_torch_file;
  const int64_t epochs = o.repeats + 1, per_step = kBatch + kOeBatch;
  std::vector<torch::Tensor> orders, oe_orders;
  for (int64_t e = 0; e < epochs; ++e) {
    orders.push_back(torch::randperm(n_train, torch::kInt64));
    oe_orders.push_back(torch::randperm(n_train, torch::kInt64));
  }
  save_torch_file(edge::data::stack_images(data.id_train), dir / "id_images.pt");
  save_torch_file(data.id_train.labels, dir / "id_labels.pt");
  save_torch_file(edge::data::stack_images(data.oe_train), dir / "oe_images.pt");
  save_torch_file(edge::data::stack_images(data.id_test), dir / "eval_images.pt");
  save_torch_file(torch::stack(orders), dir / "orders.pt");
  save_torch_file(torch::stack(oe_orders), dir / "oe_orders.pt");
  save_torch_file((torch::rand({epochs, o.steps, per_step}) < 0.5).to(torch::kUInt8), dir / "flips.pt");
  write_raw(dir / "scores_id.f64", id_scores);
  write_raw(dir / "scores_ood.f64", ood_scores);
}

json make_spec(const Options& o, const std::filesystem::path& dir) {
  const auto cfg = bench_config(o.threads, o.steps * kBatch, "fp32", false);
  return {{"dir", dir.string()}, {"threads", o.threads}, {"train_steps", o.steps}, {"repeats", o.repeats},
          {"batch", kBatch}, {"oe_batch", kOeBatch}, {"eval_batch", kEvalBatch}, {"hidden", kHidden},
          {"num_classes", kClasses}, {"alpha", cfg.alpha}, {"beta", cfg.energy_beta}, {"k", cfg.k}, {"m", cfg.m},
          {"mean", edge::data::kFashionLtMean}, {"std", edge::data::kFashionLtStd}, {"precision", o.precision},
          {"channels_last", o.channels_last}, {"calibration_steps", std::min(o.steps, kCalibrationSteps)},
          {"calibration_rounds", kCalibrationRounds}};
}

// What the run found besides the sides' columns, for the report.
struct RunInfo {
  double fwd_flops = std::nan("");
  std::string versions = fmt::format("LibTorch {}", TORCH_VERSION);
  json calibration;               // calibrate_peers' answer
  std::vector<json> frozen;       // the best peer's evaluation choice, per session
  json verify;                    // numpy vs sklearn, from the best peer
  GemmPeaks peaks;
};

// Same scores, same definitions: this project's AUROC and AUPR-In must agree with sklearn's to
// 1e-9, numpy's all three with sklearn's to 1e-12 (the peer asserts it too, in "verify").
void check_metric_values(std::vector<Side>& sides) {
  const Side *e = find_side(sides, "edge"), *off = find_side(sides, "official"), *best = find_side(sides, "best");
  if (!off || !off->last.count("metrics")) return;
  const json& ref = off->last.at("metrics").at("values");
  const auto differ = [&](const Side* s, const std::vector<std::string>& keys, double tol) {
    if (!s || !s->last.count("metrics")) return false;
    const json& v = s->last.at("metrics").at("values");
    for (const auto& k : keys)
      if (std::fabs(v.at(k).get<double>() - ref.at(k).get<double>()) > tol) return true;
    return false;
  };
  if (differ(e, {"auroc", "aupr_in"}, 1e-9) || differ(best, {"auroc", "aupr_in", "fpr95_roc"}, 1e-12))
    throw std::runtime_error(fmt::format("metrics disagree with sklearn: edge {}, numpy {}, sklearn {}",
                                         e ? e->last.at("metrics").dump() : "-",
                                         best ? best->last.at("metrics").dump() : "-", ref.dump()));
}

// One session: fresh workers for every side, then the training, evaluation and metrics phases.
void run_session(const Options& o, std::vector<Side>& sides, int session, RunInfo& info) {
  std::cerr << fmt::format("bench_edge: session {}/{}: starting the workers\n", session + 1, o.sessions);
  std::vector<Side*> all, metric_sides;
  for (Side& s : sides) {
    s.worker = std::make_unique<edge::bench::WorkerProcess>(s.name, s.argv, s.env);
    all.push_back(&s);
    if (s.name != "edge fp32") metric_sides.push_back(&s);
  }
  Side* off = find_side(sides, "official");
  Side* best = find_side(sides, "best");
  if (session == 0 && off) {
    const json peer = off->worker->request("info");
    info.fwd_flops = peer.at("forward_flops_per_image").get<double>();
    info.versions += fmt::format(" | PyTorch {}, scikit-learn {}, NumPy {} ({})",
                                 peer.at("torch_version").get<std::string>(),
                                 peer.at("sklearn_version").get<std::string>(),
                                 peer.at("numpy_version").get<std::string>(), o.python);
  }
  const size_t first = size_t(session);
  run_phase(all, "train", "img_s", 1, o.repeats, first, [](Side& s) -> auto& { return s.train; },
            [](Side& s) -> double& { return s.train_mb; });
  for (Side& s : sides)
    s.session_train.push_back(
        edge::bench::sample_stats(std::vector<double>(s.train.end() - o.repeats, s.train.end())).median);
  run_phase(all, "eval", "img_s", 1, o.repeats, first, [](Side& s) -> auto& { return s.eval; },
            [](Side& s) -> double& { return s.eval_mb; });
  if (best) info.frozen.push_back(best->last.at("eval").value("frozen", json()));
  // The metrics' repeats are spread over the sessions (single-threaded, little to vary).
  const int metric_rounds = o.metric_repeats / o.sessions + (session < o.metric_repeats % o.sessions ? 1 : 0);
  if (metric_rounds > 0)
    run_phase(metric_sides, "metrics", "s", 0, metric_rounds, first, [](Side& s) -> auto& { return s.metrics; },
              [](Side& s) -> double& { return s.metrics_mb; });
  // After every measured phase, so that sklearn's run in the best peer's process leaves its
  // timings and peak memory alone.
  if (best && session == o.sessions - 1) info.verify = best->worker->request("verify");
  for (Side& s : sides) s.worker.reset();  // quit
}
// --scale: this project alone, in this process, after the workers have ended.
void print_scale(const Options& o, int64_t n_train) {
  std::cout << "\nscale (this project, edge mode, in one process): time and peak memory vs size\n"
               "| phase | size | images | seconds | images/s | peak MiB | data MiB |\n|---|---|---:|---:|---:|---:|---:|\n";
  for (const int64_t k : {1, 2, 4}) {
    torch::manual_seed(k);
    const auto d = make_data(k * n_train, 1);
    auto c = bench_config(o.threads, d.id_train.size(), o.precision, o.channels_last);
    c.n_epoch = 1;
    std::ostringstream log;
    reset_peak();
    edge::train::Trainer trainer(c, training_data(d, c), log);
    const double rate = trainer.train_epoch().images_per_s;
    const double images = double(k * o.steps * (kBatch + kOeBatch));
    const double data_mb = 2.0 * image_mb(d.id_train);
    std::cout << fmt::format("| train epoch | {}x | {} | {:.2f} | {:.0f} | {:.0f} | {:.0f} |\n", k, images,
                             images / rate, rate, peak_mb(), data_mb);
  }
  const auto train_data = make_data(n_train, 1);
  auto c = bench_config(o.threads, n_train, o.precision, o.channels_last);
  c.n_epoch = 1;
  std::ostringstream log;
  edge::train::Trainer trainer(c, training_data(train_data, c), log);
  for (const int64_t k : {1, 4, 16}) {
    torch::manual_seed(k);
    const auto d = make_data(kBatch, k * o.eval_images);
    reset_peak();
    eval_pass(trainer.model(), d.id_test, trainer.config().compute_mode());  // warm-up
    const double rate = eval_pass(trainer.model(), d.id_test, trainer.config().compute_mode());
    const double data_mb = image_mb(d.id_test);
    std::cout << fmt::format("| eval | {}x | {} | {:.2f} | {:.0f} | {:.0f} | {:.0f} |\n", k, d.id_test.size(),
                             double(d.id_test.size()) / rate, rate, peak_mb(), data_mb);
  }
}


void print_header(const Options& o, const RunInfo& info, const std::string& edge_mode) {
  std::cout << fmt::format(
      "EDGE step, evaluation and metrics: this project vs PyTorch peers (bench/bench_edge, bench/edge_peer.py)\n"
      "CPU: {}; {} intra-op threads, 1 inter-op, on every side; CPU-ISA caps in force (every side): {}\n{}\n"
      "model: small_resnet (width 16) + clssimp (hidden {}), 8 classes, input 1x56x56 uint8 -> normalised float\n"
      "train: batch {} ID + {} OE, EDGE loss with the gap term (k 32, m 1), SGD nesterov + one-cycle; {} steps per "
      "timed epoch\neval: {} images, batch {}, logits + JointEnergy; metrics: {} scores ({} ID + {} OOD, float64)\n"
      "every side in its own process, interleaved: round r runs one epoch / eval pass / metrics computation of each "
      "side in rotated order;\n{} sessions, each with fresh worker processes; figures: median [min-max] over {} "
      "sessions x {} rounds after 1 warm-up round per session (metrics: {} rounds in all);\npeak = the largest "
      "worker VmHWM in the phase (MiB)\nedge = this project with --precision {}; edge fp32 = its "
      "reference mode (fp32 NCHW); official = the official EDGE loop (fp32 NCHW, eager no_grad eval, sklearn);\n"
      "best = the fastest plain-PyTorch training configuration of the calibration below, evaluating with the frozen "
      "TorchScript model, metrics with numpy; best runs under {}\n\n",
      cpu_name(), o.threads, isa_caps(), info.versions, kHidden, kBatch, kOeBatch, o.steps, o.eval_images,
      kEvalBatch, o.scores, o.scores / 2, o.scores - o.scores / 2, o.sessions, o.sessions, o.repeats,
      o.metric_repeats, edge_mode, peer_allocator_env());
}

void print_table(const std::vector<Side>& sides) {
  std::cout << "| side | train img/s | train peak MiB | eval img/s | eval peak MiB | metrics s | metrics peak MiB |\n"
               "|---|---:|---:|---:|---:|---:|---:|\n";
  for (const Side& s : sides)
    std::cout << fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", s.name, fmt_stat(s.train, 0),
                             fmt_mb(s.train_mb), fmt_stat(s.eval, 0), fmt_mb(s.eval_mb), fmt_stat(s.metrics, 3),
                             fmt_mb(s.metrics_mb));
  std::cout << "\ntraining img/s, median of each session (one process per side and session):";
  for (const Side& s : sides) std::cout << fmt::format(" {} {:.0f};", s.name, fmt::join(s.session_train, " / "));
  std::cout << "\n";
}

// How the best peer was chosen: the training race, the frozen model's layout race and score
// check, and numpy's agreement with sklearn.
void print_peer_choices(const RunInfo& info) {
  if (info.calibration.is_null()) return;
  const json& c = info.calibration;
  std::vector<std::string> configs;
  for (const auto& [name, rate] : c.at("img_s").items())
    configs.push_back(fmt::format("{} {:.0f} img/s ({} rounds)", name, rate.get<double>(),
                                  c.at("rounds").at(name).get<int>()));
  for (const auto& [name, why] : c.at("failed").items()) configs.push_back(fmt::format("{} failed: {}", name, why.get<std::string>()));
  std::cout << fmt::format(
      "\nbest peer, training: calibration in one process, 1 warm-up step then {} interleaved rounds of {} steps per "
      "configuration, median img/s; a configuration under {:.2f}x the leader leaves the race: {} -> best = {}\n",
      kCalibrationRounds, c.at("steps").get<int>(), c.at("prune_below").get<double>(), fmt::join(configs, ", "),
      c.at("best").get<std::string>());
  for (size_t s = 0; s < info.frozen.size(); ++s) {
    const json& f = info.frozen[s];
    if (f.is_null()) continue;
    std::vector<std::string> layouts;
    for (const auto& [layout, rate] : f.at("img_s").items())
      layouts.push_back(fmt::format("{} {:.0f} img/s, scores vs eager {:.2g}", layout, rate.get<double>(),
                                    f.at("max_score_diff").at(layout).get<double>()));
    std::cout << fmt::format("best peer, evaluation (frozen TorchScript {}), session {}: {} -> {} (score check: "
                             "max |frozen - eager| / (1 + |eager|) <= {:g})\n", f.at("precision").get<std::string>(),
                             s + 1, fmt::join(layouts, "; "), f.at("layout").get<std::string>(),
                             f.at("tol").get<double>());
  }
  if (!info.verify.is_null())
    std::cout << fmt::format("best peer, metrics: numpy vs sklearn on the bench scores, max |diff| {:.2g} over "
                             "AUROC / AUPR-In / FPR95 (asserted <= {:g})\n",
                             info.verify.at("max_diff").get<double>(), info.verify.at("tol").get<double>());
}

// Sustained training GFLOP/s of each side against the measured GEMM peak of its precision.
void print_flops(const Options& o, const std::vector<Side>& sides, const RunInfo& info) {
  if (!std::isfinite(info.fwd_flops)) return;
  const auto peak = [&](const std::string& p) {
    return std::isfinite(info.peaks.peak(p))
               ? fmt::format("{} {:.1f} GFLOP/s ({:.1f})", p, info.peaks.peak(p), fmt::join(info.peaks.gflops.at(p), " / "))
               : p + " unavailable (no kernel in this process)";
  };
  std::cout << fmt::format("GEMM peak (torch::mm 2048x2048x2048 in this run, {} threads; before / after the "
                           "sessions): {}, {}\n", o.threads, peak("fp32"), peak("bf16"));
  for (const Side& s : sides) {
    if (s.train.empty()) continue;
    // Training ~ 3x the forward FLOPs (forward, input gradients, weight gradients).
    const double gflops = 3.0 * info.fwd_flops * edge::bench::sample_stats(s.train).median / 1e9;
    std::cout << fmt::format("{}: sustained training {:.1f} GFLOP/s = {:.1f}% of the measured {} GEMM peak "
                             "({:.1f} MFLOP forward per image)\n",
                             s.name, gflops, 100.0 * gflops / info.peaks.peak(s.precision), s.precision,
                             info.fwd_flops / 1e6);
  }
}

// The per-round ratios of `edge` against the peers; prints them and returns the last line.
std::string print_ratios(std::vector<Side>& sides) {
  const Side* e = find_side(sides, "edge");
  const Side *off = find_side(sides, "official"), *best = find_side(sides, "best");
  if (!off || !best) return "train_vs_best=nan eval_vs_frozen=nan metrics_vs_numpy=nan train_vs_official=nan";
  const auto ratio = [](double a, double b) { return std::isfinite(a) && std::isfinite(b) && b > 0 ? a / b : std::nan(""); };
  const Stat tr_best = paired_ratio(e->train, best->train), tr_off = paired_ratio(e->train, off->train),
             ev_best = paired_ratio(e->eval, best->eval), ev_off = paired_ratio(e->eval, off->eval),
             me_best = paired_ratio(best->metrics, e->metrics), me_off = paired_ratio(off->metrics, e->metrics);
  std::cout << fmt::format(
      "\nratios per round (edge / peer, higher = edge faster), median [min-max]: train vs best {}, vs official {}; "
      "eval vs frozen {}, vs official {}; metrics vs numpy {}, vs sklearn {}\npeak memory edge / official: train "
      "{:.2f}, eval {:.2f}, metrics {:.2f}; edge / best: train {:.2f}, eval {:.2f}, metrics {:.2f}\n",
      fmt_stat(tr_best, 2), fmt_stat(tr_off, 2), fmt_stat(ev_best, 2), fmt_stat(ev_off, 2), fmt_stat(me_best, 2),
      fmt_stat(me_off, 1), ratio(e->train_mb, off->train_mb), ratio(e->eval_mb, off->eval_mb),
      ratio(e->metrics_mb, off->metrics_mb), ratio(e->train_mb, best->train_mb), ratio(e->eval_mb, best->eval_mb),
      ratio(e->metrics_mb, best->metrics_mb));
  return fmt::format("train_vs_best={:.2f} eval_vs_frozen={:.2f} metrics_vs_numpy={:.2f} train_vs_official={:.2f}",
                     tr_best.median, ev_best.median, me_best.median, tr_off.median);
}

// The sides of the table; with Python, first the calibration that picks the best peer.
std::vector<Side> make_sides(const Options& o, const std::filesystem::path& spec_file, RunInfo& info) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<Side> sides;
  sides.push_back(Side{"edge", {self, "--worker", "edge", "--spec", spec_file.string()}, {}, o.precision});
  if (o.reference && !(o.precision == "fp32" && !o.channels_last))
    sides.push_back(Side{"edge fp32", {self, "--worker", "edge-fp32", "--spec", spec_file.string()}, {}, "fp32"});
  if (o.python.empty()) return sides;
  sides.push_back(Side{"official", {o.python, o.peer, spec_file.string(), "official"}, {}, "fp32"});
  const std::string alloc = peer_allocator_env();
  info.calibration = calibrate_peers(o, spec_file, alloc);
  const std::string best = info.calibration.at("best").get<std::string>();
  sides.push_back(Side{"best", {o.python, o.peer, spec_file.string(), "best", best}, {alloc},
                       best.rfind("bf16", 0) == 0 ? "bf16" : "fp32"});
  return sides;
}

}  // namespace

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
