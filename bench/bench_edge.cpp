// EDGE end to end, this project vs two PyTorch peers, in one run on the same data, model,
// batch sizes and thread count (issue 7):
//   (a) training step: ID + OE batch, forward, EDGE loss (BCE + alpha softplus + beta gap,
//       bottom-k), backward, SGD step; images/s (ID + OE) per epoch of --steps steps,
//   (b) evaluation: images/s to logits + JointEnergy scores (eval mode, no grad),
//   (c) metrics: FPR95 + AUROC + AUPR on --scores scores (half ID, half OOD), seconds.
// Columns: `edge` (this program in the compute mode of --precision / --channels_last, by
// default auto, i.e. bf16 channels-last on a CPU with native bf16, the program's own default
// mode (see BENCHMARKS.md), through the real Trainer, predict_logits and
// compute_ood_metrics), `edge fp32` (the reference compute
// mode), and the peers of bench/edge_peer.py: `official` (fp32 NCHW loop as the official
// EDGE code runs it; sklearn for metrics) and `tuned` (channels-last, with bf16 autocast where
// the CPU has native bf16).
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
// The last line is `train_speedup=... eval_speedup=... metrics_speedup=... train_vs_tuned=...`
// (the `edge` column vs the official-style peer, and vs the tuned peer for training).
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
  std::unique_ptr<edge::bench::WorkerProcess> worker;
  std::vector<double> train, eval, metrics;  // per reported round, sessions in order
  std::vector<double> session_train;         // median training images/s of each session
  double train_mb = std::nan(""), eval_mb = std::nan(""), metrics_mb = std::nan("");  // max over sessions
  json metric_values;
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
      if (request == "metrics") s->metric_values = answer.at("values");
    }
    std::cerr << fmt::format("bench_edge: {} round {}/{} done\n", request, r + 1, warmup + rounds);
  }
  for (Side* s : sides) {
    const double mb = s->worker->request("peak").at("mb").get<double>();
    if (!(peak(*s) >= mb)) peak(*s) = mb;  // also replaces the initial NaN
  }
}

Side& by_name(std::vector<Side>& sides, const std::string& name) {
  for (Side& s : sides)
    if (s.name == name) return s;
  throw std::runtime_error("no side " + name);
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
  {
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
  const auto cfg = bench_config(o.threads, n_train, "fp32", false);
  const json spec = {{"dir", dir.string()}, {"threads", o.threads}, {"train_steps", o.steps},
                     {"repeats", o.repeats}, {"batch", kBatch}, {"oe_batch", kOeBatch}, {"eval_batch", kEvalBatch},
                     {"hidden", kHidden}, {"num_classes", kClasses}, {"alpha", cfg.alpha}, {"beta", cfg.energy_beta},
                     {"k", cfg.k}, {"m", cfg.m}, {"mean", edge::data::kFashionLtMean},
                     {"std", edge::data::kFashionLtStd}, {"precision", o.precision},
                     {"channels_last", o.channels_last}, {"tuned_bf16", edge::model::cpu_has_native_bf16()}};
  const auto spec_file = dir / "spec.json";
  std::ofstream(spec_file) << spec.dump();

  std::vector<Side> sides;
  double fwd_flops = std::nan("");
  std::string versions = fmt::format("LibTorch {}", TORCH_VERSION);
  int status = 0;
  try {
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    const auto add = [&](const std::string& name, std::vector<std::string> argv) {
      sides.push_back(Side{name, std::move(argv)});
    };
    add("edge", {self, "--worker", "edge", "--spec", spec_file.string()});
    if (o.reference && !(o.precision == "fp32" && !o.channels_last))
      add("edge fp32", {self, "--worker", "edge-fp32", "--spec", spec_file.string()});
    if (!o.python.empty()) {
      add("official", {o.python, o.peer, spec_file.string(), "official"});
      add("tuned", {o.python, o.peer, spec_file.string(), "tuned"});
    }
    std::vector<Side*> all, metric_sides;
    for (Side& s : sides) {
      all.push_back(&s);
      if (s.name == "edge" || s.name == "official") metric_sides.push_back(&s);
    }
    for (int session = 0; session < o.sessions; ++session) {
      std::cerr << fmt::format("bench_edge: session {}/{}: starting the workers\n", session + 1, o.sessions);
      for (Side& s : sides) s.worker = std::make_unique<edge::bench::WorkerProcess>(s.name, s.argv);
      if (session == 0 && !o.python.empty()) {
        const json info = by_name(sides, "official").worker->request("info");
        fwd_flops = info.at("forward_flops_per_image").get<double>();
        versions += fmt::format(" | PyTorch {}, scikit-learn {}, NumPy {} ({})",
                                info.at("torch_version").get<std::string>(),
                                info.at("sklearn_version").get<std::string>(),
                                info.at("numpy_version").get<std::string>(), o.python);
      }
      const size_t first = size_t(session);
      run_phase(all, "train", "img_s", 1, o.repeats, first, [](Side& s) -> auto& { return s.train; },
                [](Side& s) -> double& { return s.train_mb; });
      for (Side& s : sides)
        s.session_train.push_back(edge::bench::sample_stats(std::vector<double>(
            s.train.end() - o.repeats, s.train.end())).median);
      run_phase(all, "eval", "img_s", 1, o.repeats, first, [](Side& s) -> auto& { return s.eval; },
                [](Side& s) -> double& { return s.eval_mb; });
      // The metrics' repeats are spread over the sessions (single-threaded, little to vary).
      const int metric_rounds = o.metric_repeats / o.sessions + (session < o.metric_repeats % o.sessions ? 1 : 0);
      if (metric_rounds > 0)
        run_phase(metric_sides, "metrics", "s", 0, metric_rounds, first, [](Side& s) -> auto& { return s.metrics; },
                  [](Side& s) -> double& { return s.metrics_mb; });
      for (Side& s : sides) s.worker.reset();  // quit
    }
    if (metric_sides.size() == 2) {
      // Same scores, same definitions: AUROC and AUPR-In must agree with sklearn.
      const json& a = metric_sides[0]->metric_values;
      const json& b = metric_sides[1]->metric_values;
      if (std::fabs(a.at("auroc").get<double>() - b.at("auroc").get<double>()) > 1e-9 ||
          std::fabs(a.at("aupr_in").get<double>() - b.at("aupr_in").get<double>()) > 1e-9)
        throw std::runtime_error(fmt::format("metrics disagree with sklearn: {} vs {}", a.dump(), b.dump()));
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_edge: " << e.what() << "\n";
    status = 1;
  }
  for (Side& s : sides) s.worker.reset();  // quit
  std::filesystem::remove_all(dir);
  if (status != 0) return status;

  std::cout << fmt::format(
      "EDGE step, evaluation and metrics: this project vs PyTorch peers (bench/bench_edge, bench/edge_peer.py)\n"
      "CPU: {}; {} intra-op threads, 1 inter-op, on every side\n{}\n"
      "model: small_resnet (width 16) + clssimp (hidden {}), 8 classes, input 1x56x56 uint8 -> normalised float\n"
      "train: batch {} ID + {} OE, EDGE loss with the gap term (k 32, m 1), SGD nesterov + one-cycle; {} steps per "
      "timed epoch\neval: {} images, batch {}, logits + JointEnergy; metrics: {} scores ({} ID + {} OOD, float64)\n"
      "every side in its own process, interleaved: round r runs one epoch / eval pass / metrics computation of each "
      "side in rotated order;\n{} sessions, each with fresh worker processes; figures: median [min-max] over {} "
      "sessions x {} rounds after 1 warm-up round per session (metrics: {} rounds in all);\npeak = the largest "
      "worker VmHWM in the phase (MiB)\nedge = this project with --precision {}; edge fp32 = its "
      "reference mode (fp32 NCHW)\n\n",
      cpu_name(), o.threads, versions, kHidden, kBatch, kOeBatch, o.steps, o.eval_images, kEvalBatch, o.scores,
      o.scores / 2, o.scores - o.scores / 2, o.sessions, o.sessions, o.repeats, o.metric_repeats, edge_mode);
  std::cout << "| side | train img/s | train peak MiB | eval img/s | eval peak MiB | metrics s | metrics peak MiB |\n"
               "|---|---:|---:|---:|---:|---:|---:|\n";
  std::map<std::string, const Side*> side_of;
  for (const Side& s : sides) {
    side_of[s.name] = &s;
    std::cout << fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", s.name, fmt_stat(s.train, 0),
                             fmt_mb(s.train_mb), fmt_stat(s.eval, 0), fmt_mb(s.eval_mb), fmt_stat(s.metrics, 3),
                             fmt_mb(s.metrics_mb));
  }
  std::cout << "\ntraining img/s, median of each session (one process per side and session):";
  for (const Side& s : sides) std::cout << fmt::format(" {} {:.0f};", s.name, fmt::join(s.session_train, " / "));
  std::cout << "\n";
  const Side& e = *side_of.at("edge");
  const auto ratio = [](double a, double b) { return std::isfinite(a) && std::isfinite(b) && b > 0 ? a / b : std::nan(""); };
  double train_speedup = std::nan(""), eval_speedup = std::nan(""), metrics_speedup = std::nan(""),
         train_vs_tuned = std::nan("");
  if (side_of.count("official")) {
    const Side& off = *side_of.at("official");
    const Side& tun = *side_of.at("tuned");
    const Stat tr_off = paired_ratio(e.train, off.train), tr_tun = paired_ratio(e.train, tun.train),
               ev_off = paired_ratio(e.eval, off.eval), ev_tun = paired_ratio(e.eval, tun.eval),
               me_off = paired_ratio(off.metrics, e.metrics);
    train_speedup = tr_off.median;
    eval_speedup = ev_off.median;
    metrics_speedup = me_off.median;
    train_vs_tuned = tr_tun.median;
    std::cout << fmt::format(
        "\nratios per round (edge / peer, higher = edge faster), median [min-max]: train vs official {}, vs tuned "
        "{}; eval vs official {}, vs tuned {}; metrics vs sklearn {}\npeak memory edge / official: train {:.2f}, "
        "eval {:.2f}, metrics {:.2f}\n",
        fmt_stat(tr_off, 2), fmt_stat(tr_tun, 2), fmt_stat(ev_off, 2), fmt_stat(ev_tun, 2), fmt_stat(me_off, 1),
        ratio(e.train_mb, off.train_mb), ratio(e.eval_mb, off.eval_mb), ratio(e.metrics_mb, off.metrics_mb));
  }
  if (std::isfinite(fwd_flops)) {
    // Training ~ 3x the forward FLOPs (forward, input gradients, weight gradients).
    for (const std::string name : {"edge", "edge fp32"}) {
      if (!side_of.count(name)) continue;
      const double gflops = 3.0 * fwd_flops * edge::bench::sample_stats(side_of.at(name)->train).median / 1e9;
      std::cout << fmt::format("{}: sustained training {:.1f} GFLOP/s = {:.1f}% of the 230 GFLOP/s fp32 sgemm peak "
                               "({:.1f} MFLOP forward per image)\n",
                               name, gflops, 100.0 * gflops / 230.0, fwd_flops / 1e6);
    }
  }
  if (o.scale) print_scale(o, n_train);
  std::cout << fmt::format("\ntrain_speedup={:.2f} eval_speedup={:.2f} metrics_speedup={:.1f} train_vs_tuned={:.2f}\n",
                           train_speedup, eval_speedup, metrics_speedup, train_vs_tuned);
  return 0;
}
