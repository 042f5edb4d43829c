#include "edge_bench/report.h"

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "edge/train/trainer.h"
#include "edge_bench/workload.h"
#include "support/peer_process.h"
#include "support/sample_stats.h"

namespace edge::bench::edge_bench {

using Stat = edge::bench::SampleStats;

namespace {

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

// The CPU-ISA switches in force (passed on to every worker by inheritance), for the report.
std::string isa_caps() {
  std::vector<std::string> caps;
  for (const char* name : {"DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"})
    if (const char* v = std::getenv(name); v && *v) caps.push_back(fmt::format("{}={}", name, v));
  return caps.empty() ? "none" : fmt::format("{}", fmt::join(caps, " "));
}

}  // namespace

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

void print_flops(const Options& o, const std::vector<Side>& sides, const RunInfo& info) {
  if (!std::isfinite(info.fwd_flops)) return;
  const auto peak = [&](const std::string& p) {
    return std::isfinite(info.peaks.peak(p))
               ? fmt::format("{} {:.1f} GFLOP/s ({:.1f})", p, info.peaks.peak(p), fmt::join(info.peaks.gflops.at(p), " / "))
               : p + " unavailable (no kernel in this process)";
  };
  std::cout << fmt::format("GEMM peak (torch::mm 2048x2048x2048 in this run, {} threads; before / after the "
                           "sessions): {}, {}\n", o.threads, peak("fp32"), peak("bf16"));
  // Training ~ 3x the forward FLOPs (forward, input gradients, weight gradients); evaluation 1x.
  const auto gflops = [&](const std::vector<double>& img_s, double passes) {
    return img_s.empty() ? std::nan("") : passes * info.fwd_flops * edge::bench::sample_stats(img_s).median / 1e9;
  };
  for (const Side& s : sides) {
    if (s.train.empty()) continue;
    const double peak_gflops = info.peaks.peak(s.precision), train = gflops(s.train, 3.0), eval = gflops(s.eval, 1.0);
    std::cout << fmt::format("{}: sustained training {:.1f} GFLOP/s = {:.1f}% of the measured {} GEMM peak, "
                             "evaluation {:.1f} GFLOP/s = {:.1f}% ({:.1f} MFLOP forward per image)\n",
                             s.name, train, 100.0 * train / peak_gflops, s.precision, eval,
                             100.0 * eval / peak_gflops, info.fwd_flops / 1e6);
  }
  // What the 1.5x over the best peer asks of the edge column's arithmetic: above 100%,
  // more than the GEMM peak, i.e. not reachable with the same FLOPs (direct convolutions).
  const Side *e = find_side(sides, "edge"), *best = find_side(sides, "best");
  if (e && best && !best->train.empty() && !best->eval.empty())
    std::cout << fmt::format("1.5x the best peer would take: training {:.1f}%, evaluation {:.1f}% of the measured {} "
                             "GEMM peak\n",
                             150.0 * gflops(best->train, 3.0) / info.peaks.peak(e->precision),
                             150.0 * gflops(best->eval, 1.0) / info.peaks.peak(e->precision), e->precision);
}

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

}  // namespace edge::bench::edge_bench
