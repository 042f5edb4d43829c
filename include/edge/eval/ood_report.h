// OOD evaluation of one score: per OOD set and mean, ID mAP, and the head/tail
// breakdown of spec §6 (ID test samples containing none of the j most frequent classes).
// Several scores: one OodReport each, combined by the *_reports formatters.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "edge/eval/plot_data.h"
#include "edge/metrics/ood_metrics.h"
#include "edge/score/ood_scores.h"

namespace edge::eval {

struct MetricRow {
  std::string ood_set;  // a set name, or "mean"
  double fpr95 = 0, auroc = 0, aupr = 0;  // fractions in [0, 1]; AUPR = AUPR-In
  double aupr_out = 0;                    // AUPR with OOD positive (negated scores)
  int64_t n_id = 0, n_ood = 0;
};

struct TailBreakdown {
  int64_t j = 0;                // the j most frequent classes are excluded (0 = all ID samples)
  std::vector<int64_t> excluded_classes;
  std::vector<MetricRow> rows;  // per OOD set, then "mean"
};

struct OodReport {
  std::string score;
  std::string convention;       // which FPR convention was used, in words
  std::vector<MetricRow> rows;  // per OOD set, then "mean"
  std::vector<TailBreakdown> tail;
  double id_map = 0;            // reference mAP (trapezoidal PR area), fraction
  double id_map_ap = 0;         // standard mAP (average precision), fraction
  std::vector<std::string> class_names;
  std::vector<int64_t> class_counts;  // ID test positives per class
  // Plot data (the HTML report): histograms of the ID test scores, of the tail-only ID subset
  // (the largest j > 0 of the grid, if any) and of each OOD set on shared bins; the ROC curve
  // of each OOD set in `rows` order, at most kRocVertices vertices (empty for an empty set).
  ScoreHistograms histograms;
  std::vector<RocCurve> roc;
  static constexpr std::size_t kRocVertices = 400;
  static constexpr int kHistogramBins = 40;

  const MetricRow& mean() const { return rows.back(); }
  const TailBreakdown& tail_for(int64_t j) const;
};

using NamedScores = std::vector<std::pair<std::string, std::vector<double>>>;

// One score's values: `id_scores` [N] of the ID test set (rows of `id_labels` [N, C]),
// `ood_scores` per OOD set (report order kept). `id_logits` [N, C] give the ID mAP.
OodReport evaluate_scores(const std::string& score, const std::vector<double>& id_scores, const NamedScores& ood_scores,
                          const torch::Tensor& id_logits, const torch::Tensor& id_labels,
                          const std::vector<int64_t>& j_grid, const std::vector<std::string>& class_names,
                          metrics::FprConvention convention = metrics::FprConvention::IdPositiveNearest);

// A logit score computed here: `id_logits` [N, C] with `id_labels` [N, C]; `ood_logits` by set name.
OodReport evaluate_ood(score::ScoreKind score, const torch::Tensor& id_logits, const torch::Tensor& id_labels,
                       const std::vector<std::pair<std::string, torch::Tensor>>& ood_logits,
                       const std::vector<int64_t>& j_grid, const std::vector<std::string>& class_names,
                       metrics::FprConvention convention = metrics::FprConvention::IdPositiveNearest);

// Plain-text table (percentages), JSON (fractions, everything) and CSV (percentages).
std::string format_report(const OodReport& r);
nlohmann::json report_to_json(const OodReport& r);
std::string report_to_csv(const OodReport& r);

// Several scores: a one-line-per-score summary of the mean over OOD sets, one CSV under a
// single header, and a Markdown document (per-set table, head/tail table, ID mAP).
std::string format_summary(const std::vector<OodReport>& reports);
std::string reports_to_csv(const std::vector<OodReport>& reports);
std::string reports_to_markdown(const std::vector<OodReport>& reports);

}  // namespace edge::eval
