// EDGE end to end, this project vs two PyTorch peers, in one run on the same data, model,
// batch sizes and thread count (issue 7):
//   (a) training step: ID + OE batch, forward, EDGE loss (BCE + alpha softplus + beta gap,
//       bottom-k), backward, SGD step; images/s (ID + OE) per epoch of --steps steps,
//   (b) evaluation: images/s to logits + JointEnergy scores (eval mode, no grad),
//   (c) metrics: FPR95 + AUROC + AUPR on --scores scores (half ID, half OOD), seconds.
// Columns: `edge` (this program in the compute mode of --precision / --channels_last, by
// default its fastest mode on the AVX-512-BF16 CPU it was tuned on, bf16 NCHW (measured
// faster than bf16 + channels-last for this small model, see BENCHMARKS.md), through the
// real Trainer,
// predict_logits and compute_ood_metrics), `edge fp32` (the reference compute mode), and the
// peers of bench/edge_peer.py: `official` (fp32 NCHW loop as the official EDGE code runs
// it; sklearn for metrics) and `tuned` (bf16 autocast + channels-last). Each figure is the
// median over --repeats timed repeats (after one warm-up) with the min-max spread; each
// phase's peak memory is the process's VmHWM after resetting it before the phase.
// The data are synthetic uint8 images of fashion-lt's shape (1x56x56) and multi-hot labels,
// written once to a temporary folder that the peer reads (same images and labels; the peer
// also reads the batch orders and flips, the C++ Trainer draws its own).
// The last line is `train_speedup=... eval_speedup=... metrics_speedup=... train_vs_tuned=...`
// (the `edge` column vs the official-style peer, and vs the tuned peer for training).
// --scale adds this project's time and peak memory for 1x/2x/4x the training-set size and
// 1x/4x/16x the evaluated images.
//
//   build/bench/bench_edge [--threads 2] [--steps 20] [--repeats 5] [--eval_images 2000]
//                          [--scores 10000000] [--metric_repeats 5] [--scale]
//                          [--precision auto|bf16|fp32] [--channels_last true|false]
//                          [--python /usr/bin/python3 | --no-python] [--no_reference] [--tmp DIR]
// (--no_reference leaves out the `edge fp32` column, for quick A/B runs of one mode.)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/data/fashion_lt.h"
#include "edge/eval/predict.h"
#include "edge/metrics/ood_metrics.h"
#include "edge/model/torch_file.h"
#include "edge/score/ood_scores.h"
#include "edge/train/trainer.h"
#include "support/peer_process.h"
#include "support/sample_stats.h"

namespace {

using edge::bench::cpu_name;
using edge::bench::run_command;
using edge::bench::shell_quote;

using Clock = std::chrono::steady_clock;

struct Options {
  int threads = 2;
  int64_t steps = 20;
  int repeats = 5;
  int64_t eval_images = 2000;
  int64_t scores = 10'000'000;
  int metric_repeats = 5;
  bool scale = false;
  bool reference = true;
  // The fastest compute mode (auto: bf16 where the CPU has native bf16, else fp32); the
  // reference mode is measured beside it as `edge fp32`.
  std::string precision = "auto";
  bool channels_last = false;
  std::string python = "/usr/bin/python3";
  std::string peer = (std::filesystem::path(EDGE_BENCH_DIR) / "edge_peer.py").string();
  std::filesystem::path tmp;
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
    else if (a == "--scale") o.scale = true;
    else if (a == "--precision") o.precision = value();
    else if (a == "--channels_last") o.channels_last = value() == "true";
    else if (a == "--python") o.python = value();
    else if (a == "--peer") o.peer = value();
    else if (a == "--no-python") o.python.clear();
    else if (a == "--no_reference") o.reference = false;
    else if (a == "--tmp") o.tmp = value();
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: bench_edge [--threads N] [--steps N] [--repeats N] [--eval_images N] [--scores N] "
                   "[--metric_repeats N] [--scale] [--precision auto|fp32|bf16] [--channels_last true|false] "
                   "[--python PATH | --no-python] [--no_reference] [--tmp DIR]\n";
      std::exit(0);
    } else {
      throw std::runtime_error("unknown flag " + a);
    }
  }
  if (o.threads < 1 || o.steps < 1 || o.repeats < 1 || o.eval_images < 1 || o.scores < 2 || o.metric_repeats < 1)
    throw std::runtime_error("counts must be positive");
  o.precision = edge::model::resolve_precision(o.precision, torch::kCPU);  // the columns name what ran
  return o;
}

// Peak resident memory since the last reset, in MiB (Linux: VmHWM, reset via clear_refs).
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }
double peak_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return std::nan("");
}

using Stat = edge::bench::SampleStats;

struct Column {
  Stat train, eval, metrics;
  double train_mb = std::nan(""), eval_mb = std::nan(""), metrics_mb = std::nan("");
};

constexpr int64_t kBatch = 128, kOeBatch = 128, kEvalBatch = 500, kClasses = 8, kHidden = 1000;

edge::train::TrainConfig bench_config(const Options& o, int64_t id_train, const std::string& precision, bool cl) {
  edge::train::TrainConfig c;
  c.score = "joint";
  c.start_epoch = 0;  // the gap term (bottom-k, pairwise relu) in every step, as in EDGE's second phase
  c.batch_size = kBatch;
  c.oe_batch_size = kOeBatch;
  c.threads = o.threads;
  c.data.id_train = id_train;
  c.model.hidden = kHidden;
  c.model.num_classes = kClasses;
  c.precision = precision;
  c.channels_last = cl;
  c.eval_batch_size = kEvalBatch;
  return c;
}

edge::data::Benchmark make_data(int64_t n_train, int64_t n_eval) {
  edge::data::Benchmark b;
  b.name = "synthetic";
  for (int64_t c = 0; c < kClasses; ++c) b.class_names.push_back(fmt::format("c{}", c));
  b.id_train.name = "id_train";
  b.id_train.images = torch::randint(0, 256, {n_train, 1, 56, 56}, torch::kUInt8);
  b.id_train.labels = (torch::rand({n_train, kClasses}) < 0.3).to(torch::kFloat32);
  b.oe_train.name = "oe_train";
  b.oe_train.images = torch::randint(0, 256, {n_train, 1, 56, 56}, torch::kUInt8);
  b.id_test.name = "eval";
  b.id_test.images = torch::randint(0, 256, {n_eval, 1, 56, 56}, torch::kUInt8);
  return b;
}

struct TrainResult {
  std::vector<double> img_s;
  double peak = 0;
  edge::model::MultiLabelNet net{nullptr};
};

// `epochs` epochs of the real Trainer; the first is a warm-up and not reported.
TrainResult run_train(const Options& o, const edge::data::Benchmark& data, const std::string& precision, bool cl,
                      int epochs) {
  auto c = bench_config(o, data.id_train.size(), precision, cl);
  c.n_epoch = epochs + 1;
  std::ostringstream log;
  reset_peak();
  edge::train::Trainer trainer(c, data, log);
  TrainResult r;
  for (const auto& st : trainer.fit()) r.img_s.push_back(st.images_per_s);
  r.img_s.erase(r.img_s.begin());
  r.peak = peak_mb();
  r.net = trainer.model();
  return r;
}

std::vector<double> run_eval(edge::model::MultiLabelNet net, const edge::data::ImageSet& set,
                             const edge::model::ComputeMode& mode, int repeats, double* peak) {
  std::vector<double> rates;
  reset_peak();
  for (int r = 0; r <= repeats; ++r) {
    const auto t0 = Clock::now();
    const auto logits = edge::eval::predict_logits(net, set, kEvalBatch, edge::data::kFashionLtMean,
                                                   edge::data::kFashionLtStd, mode);
    const auto s = edge::score::compute_score(edge::score::ScoreKind::EnergySum, logits);
    TORCH_CHECK(s.size(0) == set.size(), "bench: expected one score per image");
    if (r > 0) rates.push_back(set.size() / std::chrono::duration<double>(Clock::now() - t0).count());
  }
  *peak = peak_mb();
  return rates;
}

std::string fmt_stat(const Stat& s, int digits) {
  if (!std::isfinite(s.median)) return "-";
  return fmt::format("{:.{}f} [{:.{}f}-{:.{}f}]", s.median, digits, s.lo, digits, s.hi, digits);
}
std::string fmt_mb(double v) { return std::isfinite(v) ? fmt::format("{:.0f}", v) : "-"; }

void write_raw(const std::filesystem::path& file, const std::vector<double>& v) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(double)));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_edge: " << e.what() << "\n";
    return 2;
  }
  torch::set_num_interop_threads(1);
  torch::set_num_threads(o.threads);
  const std::string edge_mode = o.precision + (o.channels_last ? " channels-last" : " NCHW");

  // Shared data, written for the peer.
  torch::manual_seed(0);
  const int64_t n_train = o.steps * kBatch;
  const edge::data::Benchmark data = make_data(n_train, o.eval_images);
  std::mt19937_64 rng(1);
  std::vector<double> id_scores(o.scores / 2), ood_scores(o.scores - o.scores / 2);
  {
    std::normal_distribution<double> normal(0.0, 1.0);
    for (auto& x : id_scores) x = normal(rng) + 1.0;
    for (auto& x : ood_scores) x = normal(rng);
  }
  const auto dir = o.tmp.empty() ? std::filesystem::temp_directory_path() / fmt::format("bench_edge_{}", getpid())
                                 : o.tmp;
  std::filesystem::create_directories(dir);

  std::map<std::string, Column> col;
  // This project, default mode and fp32 reference mode.
  for (const auto& [name, prec, cl] : {std::tuple<std::string, std::string, bool>{"edge", o.precision, o.channels_last},
                                       {"edge fp32", "fp32", false}}) {
    if (name == "edge fp32" && (!o.reference || (o.precision == "fp32" && !o.channels_last))) continue;
    auto tr = run_train(o, data, prec, cl, o.repeats);
    Column& c = col[name];
    c.train = edge::bench::sample_stats(tr.img_s);
    c.train_mb = tr.peak;
    c.eval = edge::bench::sample_stats(run_eval(tr.net, data.id_test, {prec == "bf16", cl}, o.repeats, &c.eval_mb));
    std::cerr << fmt::format("{}: train {:.0f} img/s, eval {:.0f} img/s\n", name, c.train.median, c.eval.median);
  }
  edge::metrics::OodMetrics m;
  {
    std::vector<double> t;
    reset_peak();
    for (int r = 0; r < o.metric_repeats; ++r) {
      const auto t0 = Clock::now();
      m = edge::metrics::compute_ood_metrics(edge::metrics::ScoreView(id_scores), edge::metrics::ScoreView(ood_scores));
      t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    col["edge"].metrics = edge::bench::sample_stats(t);
    col["edge"].metrics_mb = peak_mb();
    std::cerr << fmt::format("edge metrics: {:.3f} s (AUROC {:.9f}, AUPR-In {:.9f}, FPR95 {:.6f})\n",
                             col["edge"].metrics.median, m.auroc, m.aupr_in, m.fpr95);
  }

  // The peers.
  double fwd_flops = std::nan("");
  std::string versions = fmt::format("LibTorch {}", TORCH_VERSION);
  if (!o.python.empty()) {
    using edge::model::save_torch_file;
    const int64_t epochs = o.repeats + 1, per_step = kBatch + kOeBatch;
    std::vector<torch::Tensor> orders, oe_orders;
    for (int64_t e = 0; e < epochs; ++e) {
      orders.push_back(torch::randperm(n_train, torch::kInt64));
      oe_orders.push_back(torch::randperm(n_train, torch::kInt64));
    }
    save_torch_file(data.id_train.images, dir / "id_images.pt");
    save_torch_file(data.id_train.labels, dir / "id_labels.pt");
    save_torch_file(data.oe_train.images, dir / "oe_images.pt");
    save_torch_file(data.id_test.images, dir / "eval_images.pt");
    save_torch_file(torch::stack(orders), dir / "orders.pt");
    save_torch_file(torch::stack(oe_orders), dir / "oe_orders.pt");
    save_torch_file((torch::rand({epochs, o.steps, per_step}) < 0.5).to(torch::kUInt8), dir / "flips.pt");
    write_raw(dir / "scores_id.f64", id_scores);
    write_raw(dir / "scores_ood.f64", ood_scores);
    const auto cfg = bench_config(o, n_train, "fp32", false);
    const nlohmann::json spec = {{"dir", dir.string()}, {"threads", o.threads}, {"train_steps", o.steps},
                                 {"repeats", o.repeats}, {"metric_repeats", o.metric_repeats},
                                 {"batch", kBatch}, {"oe_batch", kOeBatch}, {"eval_batch", kEvalBatch},
                                 {"hidden", kHidden}, {"num_classes", kClasses}, {"alpha", cfg.alpha},
                                 {"beta", cfg.energy_beta}, {"k", cfg.k}, {"m", cfg.m},
                                 {"mean", edge::data::kFashionLtMean}, {"std", edge::data::kFashionLtStd},
                                 {"modes", {"official", "tuned"}}};
    const std::string out = run_command(o.python + " " + shell_quote(o.peer) + " " + shell_quote(spec.dump()));
    const auto pos = out.find("RESULT ");
    if (pos == std::string::npos) {
      std::cerr << "bench_edge: no RESULT line from the Python peer:\n" << out;
      return 1;
    }
    const auto j = nlohmann::json::parse(out.substr(pos + 7, out.find('\n', pos) - pos - 7));
    for (const std::string name : {"official", "tuned"}) {
      Column& c = col[name];
      c.train = edge::bench::sample_stats(j.at(name).at("train_img_s").get<std::vector<double>>());
      c.train_mb = j.at(name).at("train_peak_mb").get<double>();
      c.eval = edge::bench::sample_stats(j.at(name).at("eval_img_s").get<std::vector<double>>());
      c.eval_mb = j.at(name).at("eval_peak_mb").get<double>();
    }
    col["official"].metrics = edge::bench::sample_stats(j.at("metrics").at("seconds").get<std::vector<double>>());
    col["official"].metrics_mb = j.at("metrics").at("peak_mb").get<double>();
    const auto& v = j.at("metrics").at("values");
    // Same scores, same definitions: AUROC and AUPR-In must agree with sklearn.
    if (std::fabs(v.at("auroc").get<double>() - m.auroc) > 1e-9 ||
        std::fabs(v.at("aupr_in").get<double>() - m.aupr_in) > 1e-9) {
      std::cerr << fmt::format("bench_edge: metrics disagree with sklearn: AUROC {} vs {}, AUPR {} vs {}\n", m.auroc,
                               v.at("auroc").get<double>(), m.aupr_in, v.at("aupr_in").get<double>());
      return 1;
    }
    fwd_flops = j.at("forward_flops_per_image").get<double>();
    versions += fmt::format(" | PyTorch {}, scikit-learn {}, NumPy {} ({})", j.at("torch_version").get<std::string>(),
                            j.at("sklearn_version").get<std::string>(), j.at("numpy_version").get<std::string>(),
                            o.python);
  }
  std::filesystem::remove_all(dir);

  std::cout << fmt::format(
      "EDGE step, evaluation and metrics: this project vs PyTorch peers (bench/bench_edge, bench/edge_peer.py)\n"
      "CPU: {}; {} intra-op threads, 1 inter-op, on every side\n{}\n"
      "model: small_resnet (width 16) + clssimp (hidden {}), 8 classes, input 1x56x56 uint8 -> normalised float\n"
      "train: batch {} ID + {} OE, EDGE loss with the gap term (k 32, m 1), SGD nesterov + one-cycle; {} steps per "
      "timed epoch\neval: {} images, batch {}, logits + JointEnergy; metrics: {} scores ({} ID + {} OOD, float64)\n"
      "figures: median [min-max] of {} timed repeats after 1 warm-up (metrics: {} repeats); peak = VmHWM of the "
      "phase (MiB)\nedge = this project with --precision {}; edge fp32 = its reference mode (fp32 NCHW)\n\n",
      cpu_name(), o.threads, versions, kHidden, kBatch, kOeBatch, o.steps, o.eval_images, kEvalBatch, o.scores,
      id_scores.size(), ood_scores.size(), o.repeats, o.metric_repeats, edge_mode);
  std::cout << "| side | train img/s | train peak MiB | eval img/s | eval peak MiB | metrics s | metrics peak MiB |\n"
               "|---|---:|---:|---:|---:|---:|---:|\n";
  for (const std::string name : {"edge", "edge fp32", "official", "tuned"}) {
    if (!col.count(name)) continue;
    const Column& c = col.at(name);
    std::cout << fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", name, fmt_stat(c.train, 0), fmt_mb(c.train_mb),
                             fmt_stat(c.eval, 0), fmt_mb(c.eval_mb), fmt_stat(c.metrics, 3), fmt_mb(c.metrics_mb));
  }
  const Column& e = col.at("edge");
  const auto ratio = [](double a, double b) { return std::isfinite(a) && std::isfinite(b) && b > 0 ? a / b : std::nan(""); };
  double train_speedup = std::nan(""), eval_speedup = std::nan(""), metrics_speedup = std::nan(""),
         train_vs_tuned = std::nan("");
  if (col.count("official")) {
    const Column& off = col.at("official");
    const Column& tun = col.at("tuned");
    train_speedup = ratio(e.train.median, off.train.median);
    eval_speedup = ratio(e.eval.median, off.eval.median);
    metrics_speedup = ratio(off.metrics.median, e.metrics.median);
    train_vs_tuned = ratio(e.train.median, tun.train.median);
    std::cout << fmt::format(
        "\nratios (edge / peer, higher = edge faster): train vs official {:.2f}, vs tuned {:.2f}; eval vs official "
        "{:.2f}, vs tuned {:.2f}; metrics vs sklearn {:.1f}\npeak memory edge / official: train {:.2f}, eval {:.2f}, "
        "metrics {:.2f}\n",
        train_speedup, train_vs_tuned, eval_speedup, ratio(e.eval.median, tun.eval.median), metrics_speedup,
        ratio(e.train_mb, off.train_mb), ratio(e.eval_mb, off.eval_mb), ratio(e.metrics_mb, off.metrics_mb));
  }
  if (std::isfinite(fwd_flops)) {
    // Training ~ 3x the forward FLOPs (forward, input gradients, weight gradients).
    for (const std::string name : {"edge", "edge fp32"}) {
      if (!col.count(name)) continue;
      const double gflops = 3.0 * fwd_flops * col.at(name).train.median / 1e9;
      std::cout << fmt::format("{}: sustained training {:.1f} GFLOP/s = {:.1f}% of the 230 GFLOP/s fp32 sgemm peak "
                               "({:.1f} MFLOP forward per image)\n",
                               name, gflops, 100.0 * gflops / 230.0, fwd_flops / 1e6);
    }
  }

  if (o.scale) {
    std::cout << "\nscale (this project, edge mode): time and peak memory vs size\n"
                 "| phase | size | images | seconds | images/s | peak MiB | data MiB |\n|---|---|---:|---:|---:|---:|---:|\n";
    for (const int64_t k : {1, 2, 4}) {
      torch::manual_seed(k);
      const auto d = make_data(k * n_train, 1);
      const auto tr = run_train(o, d, o.precision, o.channels_last, 1);
      const double images = double(k * o.steps * (kBatch + kOeBatch));
      const double data_mb = 2.0 * double(d.id_train.images.numel()) / (1024.0 * 1024.0);
      std::cout << fmt::format("| train epoch | {}x | {} | {:.2f} | {:.0f} | {:.0f} | {:.0f} |\n", k, images,
                               images / tr.img_s.at(0), tr.img_s.at(0), tr.peak, data_mb);
    }
    const auto tr = run_train(o, make_data(n_train, 1), o.precision, o.channels_last, 0);
    for (const int64_t k : {1, 4, 16}) {
      torch::manual_seed(k);
      const auto d = make_data(kBatch, k * o.eval_images);
      double peak = 0;
      const auto rates = run_eval(tr.net, d.id_test, {o.precision == "bf16", o.channels_last}, 1, &peak);
      const double data_mb = double(d.id_test.images.numel()) / (1024.0 * 1024.0);
      std::cout << fmt::format("| eval | {}x | {} | {:.2f} | {:.0f} | {:.0f} | {:.0f} |\n", k, d.id_test.size(),
                               double(d.id_test.size()) / rates.at(0), rates.at(0), peak, data_mb);
    }
  }
  std::cout << fmt::format("\ntrain_speedup={:.2f} eval_speedup={:.2f} metrics_speedup={:.1f} train_vs_tuned={:.2f}\n",
                           train_speedup, eval_speedup, metrics_speedup, train_vs_tuned);
  return 0;
}
