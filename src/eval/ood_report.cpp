#include "edge/eval/ood_report.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/metrics/multilabel_map.h"
#include "edge/metrics/ood_metrics.h"

namespace edge::eval {

namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

std::vector<float> to_float_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

MetricRow metric_row(const std::string& name, const std::vector<double>& id, const std::vector<double>& ood) {
  MetricRow row{name, std::nan(""), std::nan(""), std::nan(""), int64_t(id.size()), int64_t(ood.size())};
  if (id.empty() || ood.empty()) return row;  // undefined: reported as NaN / "-"
  const auto m = metrics::compute_ood_metrics(id, ood);
  row.fpr95 = m.fpr95;
  row.auroc = m.auroc;
  row.aupr = m.aupr_in;
  return row;
}

MetricRow mean_row(const std::vector<MetricRow>& rows) {
  MetricRow mean{"mean", 0, 0, 0, rows.empty() ? 0 : rows.front().n_id, 0};
  for (const auto& r : rows) {
    mean.fpr95 += r.fpr95 / double(rows.size());
    mean.auroc += r.auroc / double(rows.size());
    mean.aupr += r.aupr / double(rows.size());
    mean.n_ood += r.n_ood;
  }
  return mean;
}

// Rows per OOD set plus their mean, for the ID scores `id`.
std::vector<MetricRow> rows_for(const std::vector<double>& id,
                                const std::vector<std::pair<std::string, std::vector<double>>>& ood) {
  std::vector<MetricRow> rows;
  for (const auto& [name, s] : ood) rows.push_back(metric_row(name, id, s));
  rows.push_back(mean_row(rows));
  return rows;
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", 100.0 * v) : "-"; }
// CSV keeps enough digits to recompute rankings; empty field for an undefined value.
std::string pct_csv(double v) { return std::isfinite(v) ? fmt::format("{:.6f}", 100.0 * v) : ""; }

nlohmann::json row_json(const MetricRow& r) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"ood_set", r.ood_set}, {"fpr95", num(r.fpr95)}, {"auroc", num(r.auroc)},
          {"aupr_in", num(r.aupr)}, {"n_id", r.n_id}, {"n_ood", r.n_ood}};
}

}  // namespace

const TailBreakdown& OodReport::tail_for(int64_t j) const {
  for (const auto& t : tail)
    if (t.j == j) return t;
  throw UsageError(fmt::format("head/tail breakdown has no j = {}", j));
}

OodReport evaluate_ood(score::ScoreKind kind, const torch::Tensor& id_logits, const torch::Tensor& id_labels,
                       const std::vector<std::pair<std::string, torch::Tensor>>& ood_logits,
                       const std::vector<int64_t>& j_grid, const std::vector<std::string>& class_names) {
  TORCH_CHECK(id_logits.dim() == 2 && id_labels.sizes() == id_logits.sizes(),
              "evaluate_ood: expected ID logits and labels of the same [N, C] shape, got ", id_logits.sizes(),
              " and ", id_labels.sizes());
  TORCH_CHECK(int64_t(class_names.size()) == id_logits.size(1), "evaluate_ood: expected ", id_logits.size(1),
              " class names, got ", class_names.size());
  OodReport r;
  r.score = score::score_name(kind);
  r.convention = metrics::to_string(metrics::FprConvention::IdPositiveNearest);
  r.class_names = class_names;

  const int64_t n = id_logits.size(0), c = id_logits.size(1);
  const auto id_scores = to_vector(score::compute_score(kind, id_logits));
  std::vector<std::pair<std::string, std::vector<double>>> ood;
  for (const auto& [name, logits] : ood_logits) ood.emplace_back(name, to_vector(score::compute_score(kind, logits)));
  r.rows = rows_for(id_scores, ood);

  const auto probs = to_float_vector(torch::sigmoid(id_logits.to(torch::kFloat32)));
  const auto labels = to_float_vector(id_labels);
  r.id_map = metrics::map_trapezoid(probs, labels, n, c);
  r.id_map_ap = metrics::map_average_precision(probs, labels, n, c);

  // Classes ranked by ID test frequency (as the reference), ties by class index.
  const torch::Tensor counts = id_labels.to(torch::kFloat64).sum(0);
  for (int64_t k = 0; k < c; ++k) r.class_counts.push_back(std::llround(counts[k].item<double>()));
  std::vector<int64_t> rank(c);
  std::iota(rank.begin(), rank.end(), 0);
  std::stable_sort(rank.begin(), rank.end(), [&](int64_t a, int64_t b) { return r.class_counts[a] > r.class_counts[b]; });

  const auto lab = id_labels.to(torch::kFloat32).contiguous();
  const float* lp = lab.data_ptr<float>();
  for (const int64_t j : j_grid) {
    if (j < 0 || j > c) throw UsageError(fmt::format("--tail_j: j must be in [0, {}], got {}", c, j));
    TailBreakdown t;
    t.j = j;
    t.excluded_classes.assign(rank.begin(), rank.begin() + j);
    std::vector<double> kept;
    for (int64_t i = 0; i < n; ++i) {
      const bool has_head = std::any_of(t.excluded_classes.begin(), t.excluded_classes.end(),
                                        [&](int64_t k) { return lp[i * c + k] > 0.5f; });
      if (!has_head) kept.push_back(id_scores[i]);
    }
    t.rows = rows_for(kept, ood);
    r.tail.push_back(std::move(t));
  }
  return r;
}

std::string format_report(const OodReport& r) {
  std::ostringstream out;
  out << fmt::format("OOD score: {}   ({}; metrics in %)\n", r.score, r.convention);
  out << fmt::format("{:<12} {:>8} {:>8} {:>8} {:>7} {:>7}\n", "OOD set", "FPR95", "AUROC", "AUPR", "n_id", "n_ood");
  for (const auto& row : r.rows)
    out << fmt::format("{:<12} {:>8} {:>8} {:>8} {:>7} {:>7}\n", row.ood_set, pct(row.fpr95), pct(row.auroc),
                       pct(row.aupr), row.n_id, row.n_ood);
  if (!r.tail.empty()) {
    out << "Head/tail: ID test samples with none of the j most frequent classes vs all OOD sets (mean over sets)\n";
    out << fmt::format("{:<4} {:>8} {:>8} {:>8} {:>7}  excluded classes\n", "j", "FPR95", "AUROC", "AUPR", "n_id");
    for (const auto& t : r.tail) {
      std::vector<std::string> names;
      for (auto k : t.excluded_classes) names.push_back(r.class_names[k]);
      const auto& m = t.rows.back();
      out << fmt::format("{:<4} {:>8} {:>8} {:>8} {:>7}  {}\n", t.j, pct(m.fpr95), pct(m.auroc), pct(m.aupr), m.n_id,
                         names.empty() ? "(none)" : fmt::format("{}", fmt::join(names, ", ")));
    }
  }
  out << fmt::format("ID mAP: {:.2f} (reference trapezoidal PR area)   {:.2f} (average precision)\n",
                     100.0 * r.id_map, 100.0 * r.id_map_ap);
  return out.str();
}

nlohmann::json report_to_json(const OodReport& r) {
  nlohmann::json j;
  j["score"] = r.score;
  j["fpr_convention"] = r.convention;
  j["higher_score_means"] = "in-distribution";
  j["rows"] = nlohmann::json::array();
  for (const auto& row : r.rows) j["rows"].push_back(row_json(row));
  j["head_tail"] = nlohmann::json::array();
  for (const auto& t : r.tail) {
    nlohmann::json tj{{"j", t.j}, {"excluded_classes", t.excluded_classes}, {"rows", nlohmann::json::array()}};
    for (const auto& row : t.rows) tj["rows"].push_back(row_json(row));
    j["head_tail"].push_back(tj);
  }
  j["id_map"] = r.id_map;
  j["id_map_average_precision"] = r.id_map_ap;
  j["class_names"] = r.class_names;
  j["id_test_class_counts"] = r.class_counts;
  return j;
}

std::string report_to_csv(const OodReport& r) {
  std::ostringstream out;
  out << "score,j,ood_set,fpr95_pct,auroc_pct,aupr_in_pct,n_id,n_ood,id_map_pct\n";
  auto line = [&](int64_t j, const MetricRow& row) {
    out << fmt::format("{},{},{},{},{},{},{},{},{}\n", r.score, j, row.ood_set, pct_csv(row.fpr95),
                       pct_csv(row.auroc), pct_csv(row.aupr), row.n_id, row.n_ood, pct_csv(r.id_map));
  };
  for (const auto& row : r.rows) line(0, row);
  for (const auto& t : r.tail)
    if (t.j != 0)
      for (const auto& row : t.rows) line(t.j, row);
  return out.str();
}

}  // namespace edge::eval
