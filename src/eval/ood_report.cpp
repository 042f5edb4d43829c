#include "edge/eval/ood_report.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
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

MetricRow metric_row(const std::string& name, const std::vector<double>& id, const std::vector<double>& ood,
                     metrics::FprConvention conv) {
  const double nan = std::nan("");
  MetricRow row{name, nan, nan, nan, nan, int64_t(id.size()), int64_t(ood.size())};
  if (id.empty() || ood.empty()) return row;  // undefined: reported as NaN / "-"
  const auto m = metrics::compute_ood_metrics(id, ood, conv);
  row.fpr95 = m.fpr95;
  row.auroc = m.auroc;
  row.aupr = m.aupr_in;
  row.aupr_out = m.aupr_out;
  return row;
}

MetricRow mean_row(const std::vector<MetricRow>& rows) {
  MetricRow mean{"mean", 0, 0, 0, 0, rows.empty() ? 0 : rows.front().n_id, 0};
  for (const auto& r : rows) {
    mean.fpr95 += r.fpr95 / double(rows.size());
    mean.auroc += r.auroc / double(rows.size());
    mean.aupr += r.aupr / double(rows.size());
    mean.aupr_out += r.aupr_out / double(rows.size());
    mean.n_ood += r.n_ood;
  }
  return mean;
}

// Rows per OOD set plus their mean, for the ID scores `id`.
std::vector<MetricRow> rows_for(const std::vector<double>& id, const NamedScores& ood, metrics::FprConvention conv) {
  std::vector<MetricRow> rows;
  for (const auto& [name, s] : ood) rows.push_back(metric_row(name, id, s, conv));
  rows.push_back(mean_row(rows));
  return rows;
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", 100.0 * v) : "-"; }
// CSV keeps enough digits to recompute rankings; empty field for an undefined value.
std::string pct_csv(double v) { return std::isfinite(v) ? fmt::format("{:.6f}", 100.0 * v) : ""; }

nlohmann::json row_json(const MetricRow& r) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"ood_set", r.ood_set}, {"fpr95", num(r.fpr95)},       {"auroc", num(r.auroc)},
          {"aupr_in", num(r.aupr)},   {"aupr_out", num(r.aupr_out)}, {"n_id", r.n_id}, {"n_ood", r.n_ood}};
}

}  // namespace

const TailBreakdown& OodReport::tail_for(int64_t j) const {
  for (const auto& t : tail)
    if (t.j == j) return t;
  throw UsageError(fmt::format("head/tail breakdown has no j = {}", j));
}

OodReport evaluate_scores(const std::string& score, const std::vector<double>& id_scores, const NamedScores& ood,
                          const torch::Tensor& id_logits, const torch::Tensor& id_labels,
                          const std::vector<int64_t>& j_grid, const std::vector<std::string>& class_names,
                          metrics::FprConvention convention) {
  TORCH_CHECK(id_logits.dim() == 2 && id_labels.sizes() == id_logits.sizes(),
              "evaluate_scores: expected ID logits and labels of the same [N, C] shape, got ", id_logits.sizes(),
              " and ", id_labels.sizes());
  TORCH_CHECK(int64_t(id_scores.size()) == id_logits.size(0), "evaluate_scores: expected ", id_logits.size(0),
              " ID scores, got ", id_scores.size());
  TORCH_CHECK(int64_t(class_names.size()) == id_logits.size(1), "evaluate_scores: expected ", id_logits.size(1),
              " class names, got ", class_names.size());
  OodReport r;
  r.score = score;
  r.convention = metrics::to_string(convention);
  r.class_names = class_names;

  const int64_t n = id_logits.size(0), c = id_logits.size(1);
  r.rows = rows_for(id_scores, ood, convention);

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
  const int64_t tail_j = j_grid.empty() ? 0 : *std::max_element(j_grid.begin(), j_grid.end());
  std::vector<double> tail_scores;
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
    t.rows = rows_for(kept, ood, convention);
    r.tail.push_back(std::move(t));
    if (j == tail_j) tail_scores = std::move(kept);
  }

  std::vector<std::pair<Histogram, std::vector<double>>> sets;
  sets.push_back({{"ID test", HistogramRole::IdTest, {}}, id_scores});
  if (tail_j > 0)
    sets.push_back({{fmt::format("ID tail (j = {})", tail_j), HistogramRole::IdTail, {}}, std::move(tail_scores)});
  for (const auto& [name, s] : ood) {
    sets.push_back({{name, HistogramRole::Ood, {}}, s});
    r.roc.push_back(id_scores.empty() || s.empty() ? RocCurve{}
                                                   : downsample_roc(roc_curve(id_scores, s), OodReport::kRocVertices));
  }
  r.histograms = histogram_scores(sets, OodReport::kHistogramBins);
  return r;
}

OodReport evaluate_ood(score::ScoreKind kind, const torch::Tensor& id_logits, const torch::Tensor& id_labels,
                       const std::vector<std::pair<std::string, torch::Tensor>>& ood_logits,
                       const std::vector<int64_t>& j_grid, const std::vector<std::string>& class_names,
                       metrics::FprConvention convention) {
  TORCH_CHECK(id_logits.dim() == 2, "evaluate_ood: expected ID logits [N, C], got ", id_logits.sizes());
  NamedScores ood;
  for (const auto& [name, logits] : ood_logits) ood.emplace_back(name, to_vector(score::compute_score(kind, logits)));
  return evaluate_scores(score::score_name(kind), to_vector(score::compute_score(kind, id_logits)), ood, id_logits,
                         id_labels, j_grid, class_names, convention);
}

std::string format_report(const OodReport& r) {
  std::ostringstream out;
  out << fmt::format("OOD score: {}   ({}; metrics in %)\n", r.score, r.convention);
  out << fmt::format("{:<12} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7}\n", "OOD set", "FPR95", "AUROC", "AUPR", "AUPR-Out",
                     "n_id", "n_ood");
  for (const auto& row : r.rows)
    out << fmt::format("{:<12} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7}\n", row.ood_set, pct(row.fpr95), pct(row.auroc),
                       pct(row.aupr), pct(row.aupr_out), row.n_id, row.n_ood);
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

namespace {

constexpr const char* kCsvHeader = "score,j,ood_set,fpr95_pct,auroc_pct,aupr_in_pct,n_id,n_ood,id_map_pct,aupr_out_pct\n";

void csv_rows(const OodReport& r, std::ostringstream& out) {
  auto line = [&](int64_t j, const MetricRow& row) {
    out << fmt::format("{},{},{},{},{},{},{},{},{},{}\n", r.score, j, row.ood_set, pct_csv(row.fpr95),
                       pct_csv(row.auroc), pct_csv(row.aupr), row.n_id, row.n_ood, pct_csv(r.id_map),
                       pct_csv(row.aupr_out));
  };
  for (const auto& row : r.rows) line(0, row);
  for (const auto& t : r.tail)
    if (t.j != 0)
      for (const auto& row : t.rows) line(t.j, row);
}

}  // namespace

std::string report_to_csv(const OodReport& r) {
  std::ostringstream out;
  out << kCsvHeader;
  csv_rows(r, out);
  return out.str();
}

std::string reports_to_csv(const std::vector<OodReport>& reports) {
  std::ostringstream out;
  out << kCsvHeader;
  for (const auto& r : reports) csv_rows(r, out);
  return out.str();
}

std::string format_summary(const std::vector<OodReport>& reports) {
  std::ostringstream out;
  if (reports.empty()) return "";
  out << fmt::format("Summary: mean over OOD sets ({}; metrics in %)\n", reports.front().convention);
  out << fmt::format("{:<16} {:>8} {:>8} {:>8} {:>8}\n", "score", "FPR95", "AUROC", "AUPR-In", "AUPR-Out");
  for (const auto& r : reports) {
    const auto& m = r.mean();
    out << fmt::format("{:<16} {:>8} {:>8} {:>8} {:>8}\n", r.score, pct(m.fpr95), pct(m.auroc), pct(m.aupr),
                       pct(m.aupr_out));
  }
  return out.str();
}

std::string reports_to_markdown(const std::vector<OodReport>& reports) {
  std::ostringstream out;
  out << "# OOD evaluation\n\n";
  if (reports.empty()) return out.str();
  const OodReport& first = reports.front();
  out << fmt::format("FPR convention: {}. Higher score = more in-distribution. Metrics in %.\n\n", first.convention);
  out << fmt::format("ID mAP: {:.2f} (reference trapezoidal PR area), {:.2f} (average precision).\n\n",
                     100.0 * first.id_map, 100.0 * first.id_map_ap);
  out << "## Per OOD set\n\n| score | OOD set | FPR95 | AUROC | AUPR-In | AUPR-Out | n_id | n_ood |\n"
         "|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : reports)
    for (const auto& row : r.rows)
      out << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", r.score,
                         row.ood_set == "mean" ? "**mean**" : row.ood_set, pct(row.fpr95), pct(row.auroc),
                         pct(row.aupr), pct(row.aupr_out), row.n_id, row.n_ood);
  if (!first.tail.empty()) {
    out << "\n## Head/tail breakdown\n\nID test images containing none of the j most frequent classes, "
           "against all OOD sets (mean over sets).\n\n| score | j | n_id | FPR95 | AUROC | AUPR-In | AUPR-Out |\n"
           "|---|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : reports)
      for (const auto& t : r.tail) {
        const auto& m = t.rows.back();
        out << fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", r.score, t.j, m.n_id, pct(m.fpr95), pct(m.auroc),
                           pct(m.aupr), pct(m.aupr_out));
      }
    std::vector<std::string> order;
    for (const auto& t : first.tail)
      if (t.excluded_classes.size() > order.size())
        for (size_t k = order.size(); k < t.excluded_classes.size(); ++k)
          order.push_back(first.class_names[t.excluded_classes[k]]);
    if (!order.empty()) out << fmt::format("\nClasses by ID test frequency: {}.\n", fmt::join(order, ", "));
  }
  return out.str();
}

}  // namespace edge::eval
