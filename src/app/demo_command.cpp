#include <chrono>
#include <cmath>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "edge/data/fashion_lt.h"

namespace edge::app {

namespace {

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", 100.0 * v) : "-"; }

// Tail-only head/tail rows shown in the demo table.
constexpr int64_t kDemoTailJ[] = {2, 4};

}  // namespace

train::TrainConfig demo_config(bool quick) {
  train::TrainConfig c;  // the defaults (EDGE, train_config.h), at the demo's sizes and epochs
  if (quick) {
    c.data.id_train = 2048;
    c.data.id_val = 500;
    c.data.id_test = 1500;
    c.data.oe_train = 2048;
    c.data.ood_test = 500;
    c.n_epoch = 3;
    c.start_epoch = 1;
  }
  return c;
}

std::string format_comparison(const eval::OodReport& bce, const eval::OodReport& edge) {
  std::ostringstream out;
  out << fmt::format("{}: BCE (--score normal) vs EDGE (--score joint), OOD score {}, metrics in %\n", data::kFashionLtName,
                     bce.score);
  out << fmt::format("{}\n", bce.convention);
  out << fmt::format("{:<22} {:>7} {:>7}   {:>7} {:>7}   {:>7} {:>7}\n", "", "FPR95", "(low)", "AUROC", "(high)",
                     "AUPR", "(high)");
  out << fmt::format("{:<22} {:>7} {:>7}   {:>7} {:>7}   {:>7} {:>7}\n", "ID test vs OOD set", "BCE", "EDGE", "BCE",
                     "EDGE", "BCE", "EDGE");
  auto line = [&](const std::string& label, const eval::MetricRow& a, const eval::MetricRow& b) {
    out << fmt::format("{:<22} {:>7} {:>7}   {:>7} {:>7}   {:>7} {:>7}\n", label, pct(a.fpr95), pct(b.fpr95),
                       pct(a.auroc), pct(b.auroc), pct(a.aupr), pct(b.aupr));
  };
  for (size_t i = 0; i < bce.rows.size(); ++i) line(bce.rows[i].ood_set, bce.rows[i], edge.rows[i]);
  for (const int64_t j : kDemoTailJ) {
    const auto& tb = bce.tail_for(j);
    const auto& te = edge.tail_for(j);
    line(fmt::format("tail-only j={} (n={})", j, tb.rows.back().n_id), tb.rows.back(), te.rows.back());
  }
  out << fmt::format("{:<22} {:>7} {:>7}   (reference trapezoidal mAP; average precision {} / {})\n", "ID mAP",
                     pct(bce.id_map), pct(edge.id_map), pct(bce.id_map_ap), pct(edge.id_map_ap));
  out << "tail-only j: ID test images containing none of the j most frequent classes, against all OOD sets (mean).\n";
  return out.str();
}

void run_demo(const DemoParams& p, std::ostream& out) {
  const auto t0 = std::chrono::steady_clock::now();
  train::TrainConfig base = p.base_overridden ? p.base : demo_config(p.quick);
  std::vector<eval::OodReport> reports;
  for (const std::string score : {"normal", "joint"}) {
    train::TrainConfig c = base;
    c.objective = score;
    const auto dir = p.out / (score == "normal" ? "bce" : "edge");
    std::filesystem::remove_all(dir);  // the demo's own sub-folder: a rerun replaces it
    out << fmt::format("== training {} ({} epochs) into {}\n", score == "normal" ? "BCE" : "EDGE", c.n_epoch,
                       dir.string());
    run_train(c, dir, out);
    EvalParams ep;
    ep.checkpoint = dir;
    ep.threads = c.threads;
    std::ostringstream eval_log;
    reports.push_back(run_eval(ep, eval_log).front());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string table = format_comparison(reports[0], reports[1]);
  out << "\n" << table << fmt::format("wall time: {:.0f} s\n", seconds);

  nlohmann::json j{{"bce", eval::report_to_json(reports[0])}, {"edge", eval::report_to_json(reports[1])},
                   {"wall_seconds", seconds}, {"quick", p.quick}};
  write_text_atomically(p.out / "demo.json", j.dump(2) + "\n");
  // One CSV: each report's rows prefixed by the model, under one header.
  std::string csv;
  for (size_t i = 0; i < 2; ++i) {
    std::istringstream rows(eval::report_to_csv(reports[i]));
    std::string row;
    std::getline(rows, row);
    if (i == 0) csv = "model," + row + "\n";
    while (std::getline(rows, row)) csv += (i == 0 ? "bce," : "edge,") + row + "\n";
  }
  write_text_atomically(p.out / "demo.csv", csv);
  write_text_atomically(p.out / "demo.md", "```\n" + table + "```\n");
  out << fmt::format("wrote {}, demo.csv and demo.md\n", (p.out / "demo.json").string());
}

}  // namespace edge::app
