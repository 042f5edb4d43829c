// OOD-detection metrics (FPR95, AUROC, AUPR-In, AUPR-Out).
//
// Conventions used throughout this header:
//   * In-distribution (ID) samples are the positive class (label 1) unless stated otherwise.
//   * A higher score means "more in-distribution".
//   * All metrics are computed from one descending sort of the ID scores and one of the OOD
//     scores (an O(n) radix sort, score_sort.h; the two sets on two threads when both hold
//     at least 65536 scores), followed by a single merge sweep over the distinct score
//     values (O(n) time, two copies of the scores while sorting).
//   * Tied scores form one threshold point, exactly like scikit-learn's _binary_clf_curve.
//
// Every function throws std::invalid_argument when the ID or the OOD set is empty, when a
// score is NaN or infinite, or when a recall / TPR level is outside (0, 1].
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace edge::metrics {

// A non-owning view of contiguous scores (pointer + size), so callers holding scores in
// another container (e.g. a tensor's data pointer) need not copy them into a std::vector.
struct ScoreView {
  const double* data = nullptr;
  std::size_t size = 0;

  ScoreView() = default;
  ScoreView(const double* d, std::size_t n) : data(d), size(n) {}
  explicit ScoreView(const std::vector<double>& v) : data(v.data()), size(v.size()) {}
};

// Which rule defines OodMetrics::fpr95 / OodMetrics::threshold.
enum class FprConvention {
  // EDGE / JointEnergy / Outlier-Exposure `fpr_and_fdr_at_recall`: ID positive; the
  // threshold point whose ID recall is nearest to 0.95 (ties to the higher recall), no
  // interpolation. See fpr_at_recall_nearest.
  IdPositiveNearest,
  // OpenOOD `fpr_recall`: OOD positive with negated scores; the first sklearn roc_curve point
  // (default drop_intermediate=True) with TPR >= 0.95. See fpr_at_tpr_ood_positive.
  OodPositive,
};

struct OodMetrics {
  double fpr95 = 0.0;      // false-positive rate at 95% recall/TPR, per `convention`
  double auroc = 0.0;      // sklearn roc_auc_score, ID positive
  double aupr_in = 0.0;    // sklearn average_precision_score, ID positive
  double aupr_out = 0.0;   // sklearn average_precision_score, OOD positive, negated scores
  double threshold = 0.0;  // score threshold at the fpr95 point (see the rule's docs)
  FprConvention convention = FprConvention::IdPositiveNearest;
};

struct FprAtRecall {
  double fpr = 0.0;
  double threshold = 0.0;
};

// == sklearn.metrics.roc_auc_score(labels, scores) with ID labelled 1 (ties count one half).
// Computed exactly in integer arithmetic and divided once at the end.
double auroc(const std::vector<double>& id_scores, const std::vector<double>& ood_scores);
double auroc(ScoreView id_scores, ScoreView ood_scores);

// == sklearn.metrics.average_precision_score(labels, scores) with ID labelled 1 (step-wise,
// sum over thresholds of (R_k - R_{k-1}) * P_k, no interpolation).
double aupr_in(const std::vector<double>& id_scores, const std::vector<double>& ood_scores);
double aupr_in(ScoreView id_scores, ScoreView ood_scores);

// == sklearn.metrics.average_precision_score(labels, -scores) with OOD labelled 1.
double aupr_out(const std::vector<double>& id_scores, const std::vector<double>& ood_scores);
double aupr_out(ScoreView id_scores, ScoreView ood_scores);

// The EDGE reference rule (`fpr_and_fdr_at_recall`), ID positive:
//   sort all scores descending; at each distinct score value s (last index of its run of ties)
//   let tps / fps be the cumulative ID / OOD counts with score >= s and recall = tps / #ID.
//   Walk the points in order of decreasing recall, starting at the first point (highest s)
//   where recall reaches 1 and ending at the highest score; pick the FIRST point minimising
//   |recall - recall_level| (so ties go to the higher recall, and among points of equal recall
//   to the one with more false positives). fpr = fps / #OOD there; threshold = s, i.e. samples
//   with score >= threshold are accepted as ID. No interpolation.
FprAtRecall fpr_at_recall_nearest(const std::vector<double>& id_scores,
                                  const std::vector<double>& ood_scores,
                                  double recall_level = 0.95);
FprAtRecall fpr_at_recall_nearest(ScoreView id_scores, ScoreView ood_scores,
                                  double recall_level = 0.95);

// OpenOOD-style rule: OOD is the positive class and the score is negated, i.e.
//   fpr, tpr, thr = sklearn.metrics.roc_curve(is_ood, -scores, drop_intermediate=...)
//   i = argmax(tpr >= tpr_level); fpr95 = fpr[i]
// The result is the smallest FPR (fraction of ID samples flagged OOD) among the ROC points
// sklearn returns with TPR >= tpr_level. With drop_intermediate=true (sklearn's default, used
// by OpenOOD) collinear ROC points are removed exactly as sklearn does, which can pick a later
// point than the full curve would. threshold is reported in the ORIGINAL score space
// (= -thr[i]): samples with score <= threshold are flagged OOD.
FprAtRecall fpr_at_tpr_ood_positive(const std::vector<double>& id_scores,
                                    const std::vector<double>& ood_scores, double tpr = 0.95,
                                    bool drop_intermediate = true);
FprAtRecall fpr_at_tpr_ood_positive(ScoreView id_scores, ScoreView ood_scores,
                                    double tpr = 0.95, bool drop_intermediate = true);

// All four metrics from one sort + one sweep. fpr95/threshold follow `conv` (at level 0.95;
// OodPositive uses drop_intermediate=true like OpenOOD).
OodMetrics compute_ood_metrics(const std::vector<double>& id_scores,
                               const std::vector<double>& ood_scores,
                               FprConvention conv = FprConvention::IdPositiveNearest);
OodMetrics compute_ood_metrics(ScoreView id_scores, ScoreView ood_scores,
                               FprConvention conv = FprConvention::IdPositiveNearest);

// A human sentence naming the convention (for logs and reports).
std::string to_string(FprConvention conv);

}  // namespace edge::metrics
