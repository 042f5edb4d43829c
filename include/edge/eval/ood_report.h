// OOD evaluation of one score: per OOD set and mean, ID mAP, and the head/tail
// breakdown of spec §6 (ID test samples containing none of the j most frequent classes).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "edge/score/ood_scores.h"

namespace edge::eval {

struct MetricRow {
  std::string ood_set;  // a set name, or "mean"
  double fpr95 = 0, auroc = 0, aupr = 0;  // fractions in [0, 1]; AUPR = AUPR-In
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

  const MetricRow& mean() const { return rows.back(); }
  const TailBreakdown& tail_for(int64_t j) const;
};

// `id_logits` [N, C] with `id_labels` [N, C]; `ood_logits` by set name (report order kept).
OodReport evaluate_ood(score::ScoreKind score, const torch::Tensor& id_logits, const torch::Tensor& id_labels,
                       const std::vector<std::pair<std::string, torch::Tensor>>& ood_logits,
                       const std::vector<int64_t>& j_grid, const std::vector<std::string>& class_names);

// Plain-text table (percentages), JSON (fractions, everything) and CSV (percentages).
std::string format_report(const OodReport& r);
nlohmann::json report_to_json(const OodReport& r);
std::string report_to_csv(const OodReport& r);

}  // namespace edge::eval
