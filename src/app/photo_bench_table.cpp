#include "app/photo_bench_table.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace edge::app {

namespace {

// A figure of one report, as a fraction (NaN where the report lacks it).
using Metric = std::function<double(const eval::OodReport&)>;

struct Stat {
  double mean = NAN, sd = NAN;
  size_t n = 0;
};

Stat stat(const std::vector<double>& v) {
  Stat s;
  s.n = v.size();
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / double(v.size() - 1));
  }
  return s;
}

// "12.34 ± 1.23" in percent (no sd from one seed).
std::string pm(const Stat& s) {
  if (!std::isfinite(s.mean)) return "-";
  if (!std::isfinite(s.sd)) return fmt::format("{:.2f}", 100 * s.mean);
  return fmt::format("{:.2f} ± {:.2f}", 100 * s.mean, 100 * s.sd);
}

std::string mode_label(const std::string& mode) {
  static const std::map<std::string, std::string> labels = {{"normal", "BCE"}, {"joint", "EDGE"}, {"OE", "OE"}};
  const auto it = labels.find(mode);
  return it == labels.end() ? mode : it->second;
}

const eval::MetricRow* row_of(const std::vector<eval::MetricRow>& rows, const std::string& set) {
  for (const auto& r : rows)
    if (r.ood_set == set) return &r;
  return nullptr;
}

Metric set_metric(const std::string& set, bool fpr) {
  return [set, fpr](const eval::OodReport& r) {
    const auto* row = row_of(r.rows, set);
    return row ? (fpr ? row->fpr95 : row->auroc) : NAN;
  };
}

Metric tail_metric(int64_t j, bool fpr) {
  return [j, fpr](const eval::OodReport& r) {
    for (const auto& t : r.tail)
      if (t.j == j) return fpr ? t.rows.back().fpr95 : t.rows.back().auroc;
    return double(NAN);
  };
}

const Metric kMap = [](const eval::OodReport& r) { return r.id_map; };

// The runs of (backbone, mode), in seed order.
std::vector<const PhotoRun*> runs_of(const std::vector<PhotoRun>& runs, const std::string& backbone,
                                     const std::string& mode) {
  std::vector<const PhotoRun*> out;
  for (const auto& r : runs)
    if (r.backbone == backbone && r.mode == mode) out.push_back(&r);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->seed < b->seed; });
  return out;
}

std::vector<double> values(const std::vector<const PhotoRun*>& runs, size_t score, const Metric& m) {
  std::vector<double> v;
  for (const auto* r : runs) v.push_back(m(r->reports.at(score)));
  return v;
}

std::vector<std::string> ood_sets(const std::vector<PhotoRun>& runs) {
  std::vector<std::string> sets;
  for (const auto& row : runs.front().reports.front().rows)
    if (row.ood_set != "mean") sets.push_back(row.ood_set);
  return sets;
}

// "| mode | a | b |\n|---|---|---|\n": the head of a table whose rows start with a mode.
std::string table_head(const std::vector<std::string>& columns) {
  std::string head = "| mode |", rule = "|---|";
  for (const auto& c : columns) {
    head += " " + c + " |";
    rule += "---|";
  }
  return head + "\n" + rule + "\n";
}

// The JointEnergy table of one backbone: a row per mode.
std::string energy_table(const std::vector<PhotoRun>& runs, const std::string& backbone,
                         const std::vector<std::string>& modes) {
  std::vector<std::pair<std::string, Metric>> cols;
  for (const auto& set : ood_sets(runs)) {
    cols.emplace_back(set + " FPR95", set_metric(set, true));
    cols.emplace_back(set + " AUROC", set_metric(set, false));
  }
  cols.emplace_back("mean FPR95", set_metric("mean", true));
  cols.emplace_back("mean AUROC", set_metric("mean", false));
  for (int64_t j : {2, 4}) {
    cols.emplace_back(fmt::format("tail j={} FPR95", j), tail_metric(j, true));
    cols.emplace_back(fmt::format("tail j={} AUROC", j), tail_metric(j, false));
  }
  cols.emplace_back("mAP", kMap);
  std::vector<std::string> names;
  for (const auto& c : cols) names.push_back(c.first);
  std::string t = table_head(names);
  for (const auto& mode : modes) {
    const auto rs = runs_of(runs, backbone, mode);
    t += "| " + mode_label(mode) + " |";
    for (const auto& c : cols) t += " " + pm(stat(values(rs, 0, c.second))) + " |";
    t += "\n";
  }
  return t;
}

// The candidate scores of one backbone, best (lowest mean FPR95 over every run) first.
std::vector<size_t> ranked_scores(const std::vector<PhotoRun>& runs, const std::string& backbone) {
  std::vector<std::pair<double, size_t>> ranked;
  const size_t n_scores = runs.front().reports.size();
  for (size_t s = 1; s < n_scores; ++s) {
    std::vector<double> all;
    for (const auto& r : runs)
      if (r.backbone == backbone) all.push_back(r.reports[s].mean().fpr95);
    ranked.emplace_back(stat(all).mean, s);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<size_t> out;
  for (const auto& [fpr, s] : ranked) out.push_back(s);
  return out;
}

std::string other_scores_table(const std::vector<PhotoRun>& runs, const std::string& backbone,
                               const std::vector<std::string>& modes) {
  auto best = ranked_scores(runs, backbone);
  if (best.size() > 3) best.resize(3);
  if (best.empty()) return "";
  const std::string near = ood_sets(runs).front();
  std::vector<std::string> names;
  for (size_t s : best) {
    const std::string& score = runs.front().reports[s].score;
    for (const char* figure : {" mean FPR95", " mean AUROC"}) names.push_back(score + figure);
    names.push_back(score + " " + near + " FPR95");
  }
  std::string t = table_head(names);
  for (const auto& mode : modes) {
    const auto rs = runs_of(runs, backbone, mode);
    t += "| " + mode_label(mode) + " |";
    for (size_t s : best)
      for (const Metric& m : {set_metric("mean", true), set_metric("mean", false), set_metric(near, true)})
        t += " " + pm(stat(values(rs, s, m))) + " |";
    t += "\n";
  }
  return t;
}

// EDGE minus `other` per seed (runs paired by position) on one JointEnergy figure; seeds where
// the figure is undefined (a tail subset without images in that run) are left out.
std::vector<double> paired_diffs(const std::vector<const PhotoRun*>& edge, const std::vector<const PhotoRun*>& other,
                                 const Metric& m) {
  std::vector<double> d;
  for (size_t i = 0; i < std::min(edge.size(), other.size()); ++i) {
    const double diff = m(edge[i]->reports[0]) - m(other[i]->reports[0]);
    if (std::isfinite(diff)) d.push_back(diff);
  }
  return d;
}

// The paired difference as text: "-3.10 ± 1.20 points (lower in 3/3 seeds)".
std::string paired_difference(const std::vector<double>& d, bool lower_is_better) {
  const auto better = std::count_if(d.begin(), d.end(), [&](double x) { return lower_is_better ? x < 0 : x > 0; });
  if (d.empty()) return "- (no tail-only images)";
  const Stat s = stat(d);
  const std::string sign = std::isfinite(s.mean) && s.mean > 0 ? "+" : "";
  return fmt::format("{}{} points ({} in {}/{} seeds)", sign, pm(s), lower_is_better ? "lower" : "higher", better,
                     d.size());
}

std::string answer(const std::vector<PhotoRun>& runs, const PhotoBackbone& b, const std::vector<std::string>& modes) {
  auto has = [&](const char* m) { return std::find(modes.begin(), modes.end(), m) != modes.end(); };
  if (!has("joint") || !has("normal")) return "";
  const auto edge = runs_of(runs, b.key, "joint");
  const std::string near = ood_sets(runs).front();
  std::string t = fmt::format("**{}**, EDGE minus the baseline, JointEnergy, paired by seed:\n\n", b.label);
  t += "| figure | EDGE − BCE | EDGE − OE |\n|---|---|---|\n";
  const std::vector<std::pair<std::string, Metric>> figures = {
      {near + " (near OOD) FPR95", set_metric(near, true)}, {"mean FPR95 over OOD sets", set_metric("mean", true)},
      {"tail-only j=2 FPR95", tail_metric(2, true)},         {"tail-only j=4 FPR95", tail_metric(4, true)},
      {"mAP", kMap}};
  const auto bce = runs_of(runs, b.key, "normal");
  for (const auto& [name, m] : figures) {
    const bool lower = name != "mAP";
    t += "| " + name + " | " + paired_difference(paired_diffs(edge, bce, m), lower) + " | " +
         (has("OE") ? paired_difference(paired_diffs(edge, runs_of(runs, b.key, "OE"), m), lower) : "-") + " |\n";
  }
  const Stat dmap = stat(paired_diffs(edge, bce, kMap));
  t += fmt::format("\nmAP within 1 point of BCE: {} ({:+.2f} points on average).\n\n",
                   std::fabs(dmap.mean) <= 0.01 || dmap.mean > 0 ? "yes" : "no", 100 * dmap.mean);
  return t;
}

std::string backbone_comparison(const std::vector<PhotoRun>& runs, const std::vector<PhotoBackbone>& backbones,
                                const std::vector<std::string>& modes) {
  if (backbones.size() < 2) return "";
  std::vector<std::string> names;
  for (const auto& b : backbones) names.push_back(b.label + " mAP");
  std::string t = table_head(names);
  for (const auto& mode : modes) {
    t += "| " + mode_label(mode) + " |";
    for (const auto& b : backbones) t += " " + pm(stat(values(runs_of(runs, b.key, mode), 0, kMap))) + " |";
    t += "\n";
  }
  return t;
}

std::string recipe_line(const PhotoBackbone& b) {
  const auto& c = b.base;
  return fmt::format("- {}: `--arch {}{}`, {} epoch{} (EDGE's gap term from epoch index {}, tau), lr {} ({}{}), "
                     "batch {} ID + {} OE, --channels_last {}",
                     b.label, c.model.arch, c.model.pretrained.empty() ? "" : " --pretrained WEIGHTS", c.n_epoch,
                     c.n_epoch == 1 ? "" : "s", c.start_epoch, c.l_rate, c.schedule,
                     c.backbone_lr_mult == 1.0 ? "" : fmt::format(", backbone x{}", c.backbone_lr_mult), c.batch_size,
                     c.oe_batch_size, c.channels_last);
}

}  // namespace

std::string keep_hand_written(const std::string& generated, const std::string& previous) {
  const size_t at = previous.find(kHandWrittenMarker);
  return at == std::string::npos ? generated : generated + "\n" + previous.substr(at);
}

std::string format_photo_results(const PhotoResultsHeader& h, const std::vector<PhotoBackbone>& backbones,
                                 const std::vector<std::string>& modes, const std::vector<PhotoRun>& runs) {
  std::ostringstream o;
  o << "# Photo benchmark: EDGE on real photographs with a pretrained backbone\n\n";
  o << "Generated by `edge bench-photo`; rerun with:\n\n```\n" << h.command_line << "\n```\n\n";
  double train_seconds = 0;
  for (const auto& r : runs) train_seconds += r.train_seconds;
  o << fmt::format("Machine: {}. {} runs ({} seed{} per backbone and mode); their training took {:.1f} min in all; "
                   "this invocation (training the runs it did not find finished, and evaluating every run) took "
                   "{:.1f} min.\n\n", h.machine, runs.size(), h.seeds, h.seeds == 1 ? "" : "s", train_seconds / 60,
                   h.wall_seconds / 60);
  o << "Benchmark: " << h.sizes << "\n\nTraining recipes (one per backbone; every mode shares it):\n";
  for (const auto& b : backbones) o << recipe_line(b) << "\n";
  o << "\nMetrics in %, mean ± sd over seeds (sample sd). FPR95 with ID positive at the recall point nearest 0.95 "
       "(the EDGE / JointEnergy reference rule); tail j=J: ID test images holding none of the J most frequent "
       "classes against every OOD set (mean over sets); mAP: the reference trapezoidal PR area.\n\n";
  if (runs.empty()) return o.str();
  o << "## The question\n\nDoes EDGE lower JointEnergy FPR95 against BCE and against OE-only on the near-OOD set "
       "and on tail-only ID images, at mAP within 1 point of BCE?\n\n";
  for (const auto& b : backbones) o << answer(runs, b, modes);
  o << "Pretrained against from scratch (JointEnergy runs' mAP):\n\n" << backbone_comparison(runs, backbones, modes);
  for (const auto& b : backbones) {
    o << "\n## " << b.label << ": JointEnergy (energy_sum)\n\n" << energy_table(runs, b.key, modes);
    const std::string others = other_scores_table(runs, b.key, modes);
    if (!others.empty())
      o << "\n### " << b.label << ": the three best other scores (lowest mean FPR95 over all its runs)\n\n" << others;
  }
  return o.str();
}

nlohmann::json photo_results_json(const PhotoResultsHeader& h, const std::vector<PhotoRun>& runs) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : runs) {
    nlohmann::json reports = nlohmann::json::array();
    for (const auto& rep : r.reports) reports.push_back(eval::report_to_json(rep));
    list.push_back({{"backbone", r.backbone}, {"mode", r.mode}, {"seed", r.seed},
                    {"train_seconds", r.train_seconds}, {"reports", reports}});
  }
  return {{"command", h.command_line}, {"machine", h.machine}, {"wall_seconds", h.wall_seconds},
          {"seeds", h.seeds}, {"sizes", h.sizes}, {"runs", list}};
}

}  // namespace edge::app
