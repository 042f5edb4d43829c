// `edge bench-photo`: the natural-photograph benchmark (issue 20) -- every backbone x mode x
// seed trained on cifar-lt, evaluated with JointEnergy and the candidate scores, aggregated.
#include <chrono>
#include <fstream>
#include <sstream>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/photo_bench_table.h"
#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "edge/common/list_flag.h"
#include "edge/data/cifar_lt.h"

namespace edge::app {

namespace fs = std::filesystem;

namespace {

// The benchmark's sets: the same for every run (data seed 0), so seed spreads are training noise.
data::FashionLtOptions bench_sizes(bool quick) {
  data::FashionLtOptions d;
  d.id_train = quick ? 192 : 3000;
  d.id_val = quick ? 64 : 500;
  d.id_test = quick ? 128 : 2000;
  d.oe_train = quick ? 192 : 3000;
  d.ood_test = quick ? 64 : 1000;
  d.seed = 0;
  return d;
}

std::string sizes_in_words(const data::FashionLtOptions& d, const std::string& dataset) {
  return fmt::format("`{}` (64x64 RGB mosaics of CIFAR-10 photos), id_train {}, id_val {}, id_test {}, oe_train {}, "
                     "{} images per OOD set, rho {}, data seed {}.", dataset, d.id_train, d.id_val, d.id_test,
                     d.oe_train, d.ood_test, d.rho, d.seed);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

void check_params(const PhotoBenchParams& p) {
  if (p.seeds < 1) throw UsageError(fmt::format("--seeds must be at least 1, got {}", p.seeds));
  if (p.pretrained.empty())
    throw UsageError("--pretrained: the torchvision mobilenet_v2 ImageNet state_dict (.pth) is required");
  if (!fs::is_regular_file(p.pretrained))
    throw DataError(fmt::format("--pretrained {}: file not found (expected a torchvision mobilenet_v2 state_dict .pth)",
                                p.pretrained.string()));
  if (p.modes.empty()) throw UsageError("--modes: expected at least one training mode");
  for (const auto& m : p.modes) train::parse_mode(m);  // UsageError naming --score for an unknown one
  for (const auto& s : split_list(p.candidate_scores)) score::parse_score(s);
}

// The run of one (backbone, mode, seed): reused when its folder holds this very plan's
// finished run, else trained afresh. Returns the training time.
double train_or_reuse(const train::TrainConfig& c, const fs::path& dir, std::ostream& out) {
  const std::string plan = nlohmann::json(c).dump();
  const fs::path plan_file = dir / "bench_plan.json";
  if (fs::exists(dir / "summary.json") && fs::exists(plan_file)) {
    const auto stored = nlohmann::json::parse(std::ifstream(plan_file), nullptr, false);
    if (!stored.is_discarded() && stored.value("plan", "") == plan) {
      out << fmt::format("  reusing the finished run in {}\n", dir.string());
      return stored.value("train_seconds", 0.0);
    }
  }
  fs::remove_all(dir);  // the benchmark's own folder: an unfinished or other plan's run is redone
  fs::create_directories(dir.parent_path());
  std::ofstream log(dir.string() + ".train.log");
  const auto t0 = std::chrono::steady_clock::now();
  run_train(c, dir, log);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_text_atomically(plan_file, nlohmann::json{{"plan", plan}, {"train_seconds", seconds}}.dump() + "\n");
  return seconds;
}

std::string progress_line(const PhotoRun& r, const PhotoBackbone& b, size_t done, size_t total) {
  const auto& je = r.reports.front();
  return fmt::format("[{}/{}] {} {} seed {}: {} FPR95 {:.2f}, mean FPR95 {:.2f}, mAP {:.2f} (training {:.0f} s)\n",
                     done, total, b.label, r.mode, r.seed, je.rows.front().ood_set, 100 * je.rows.front().fpr95,
                     100 * je.mean().fpr95, 100 * je.id_map, r.train_seconds);
}

// "fp32 NCHW" etc. as the first run resolved it (config.json).
std::string arithmetic_of(const fs::path& run_dir) {
  const auto j = nlohmann::json::parse(std::ifstream(run_dir / "config.json"), nullptr, false);
  if (j.is_discarded()) return "";
  const auto layout = j.find("channels_last");  // a boolean once resolved
  const bool cl = layout != j.end() && ((layout->is_boolean() && layout->get<bool>()) ||
                                        (layout->is_string() && layout->get<std::string>() == "true"));
  return fmt::format("{} {}", j.value("precision", std::string("fp32")), cl ? "channels-last" : "NCHW");
}

}  // namespace

std::vector<PhotoBackbone> photo_backbones(const PhotoBenchParams& p) {
  train::TrainConfig base;
  base.dataset = p.dataset;
  base.data = bench_sizes(p.quick);
  base.threads = p.threads;
  if (p.quick) base.batch_size = base.oe_batch_size = 32;  // a few steps even on the smoke sizes
  // fp32 channels-last: on the AVX2 CPU this was tuned on, 1.7x the NCHW training speed of
  // mobilenet_v2 (145 vs 84 img/s, depthwise convolutions) and 1.16x small_resnet's at 64x64.
  base.channels_last = "true";
  PhotoBackbone pretrained{"mobilenet_v2 (ImageNet)", "mobilenet_v2_pretrained", base};
  pretrained.base.model.arch = "mobilenet_v2";
  pretrained.base.model.pretrained = p.pretrained.string();
  pretrained.base.n_epoch = p.quick ? 1 : 4;
  pretrained.base.start_epoch = p.quick ? 0 : 2;
  pretrained.base.l_rate = 0.05;
  PhotoBackbone scratch{"small_resnet (scratch)", "small_resnet_scratch", base};
  scratch.base.n_epoch = p.quick ? 1 : 12;
  scratch.base.start_epoch = p.quick ? 0 : 6;
  return {pretrained, scratch};
}

void run_photo_bench(const PhotoBenchParams& p, std::ostream& out) {
  check_params(p);
  const auto t0 = std::chrono::steady_clock::now();
  const auto backbones = photo_backbones(p);
  const size_t total = backbones.size() * p.modes.size() * static_cast<size_t>(p.seeds);
  std::vector<PhotoRun> runs;
  for (const auto& b : backbones)
    for (const auto& mode : p.modes)
      for (int64_t s = 0; s < p.seeds; ++s) {
        train::TrainConfig c = b.base;
        c.objective = mode;
        c.seed = 2024 + static_cast<uint64_t>(s);
        const fs::path dir = p.out / b.key / mode / fmt::format("seed{}", s);
        PhotoRun r{b.key, mode, s, train_or_reuse(c, dir, out), {}};
        EvalParams ep;
        ep.checkpoint = dir;
        ep.threads = p.threads;
        ep.score_fn = "energy_sum," + p.candidate_scores;
        std::ostringstream eval_log;
        r.reports = run_eval(ep, eval_log);
        runs.push_back(std::move(r));
        out << progress_line(runs.back(), b, runs.size(), total) << std::flush;
      }
  PhotoResultsHeader h;
  h.command_line = p.command_line;
  h.machine = fmt::format("{}, {} threads, {}", cpu_model(), at::get_num_threads(),
                          arithmetic_of(p.out / backbones.front().key / p.modes.front() / "seed0"));
  h.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  h.seeds = p.seeds;
  h.sizes = sizes_in_words(backbones.front().base.data, p.dataset);
  const fs::path results = p.results.empty() ? p.out / "RESULTS.md" : p.results;
  const std::string previous = fs::exists(results) ? read_text_file(results) : "";
  write_text_atomically(results, keep_hand_written(format_photo_results(h, backbones, p.modes, runs), previous));
  write_text_atomically(p.out / "results.json", photo_results_json(h, runs).dump(2) + "\n");
  out << fmt::format("wrote {} and {} ({:.1f} min)\n", results.string(), (p.out / "results.json").string(),
                     h.wall_seconds / 60);
}

}  // namespace edge::app
