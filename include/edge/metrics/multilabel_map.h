// Multi-label mean average precision (mAP).
//
// `scores` and `labels` are row-major N x C matrices (sample-major: element (i, c) is at
// i * C + c). Labels must be exactly 0 or 1; scores must be finite.
//
// Classes with no positive label are SKIPPED: they do not enter the mean, and `per_class`
// (when given) receives NaN for them. If no class has a positive label at all, the functions
// throw std::invalid_argument (the mean would be undefined). Size mismatches, N <= 0, C <= 0,
// non-finite scores and labels other than 0/1 also throw std::invalid_argument.
//
// Both functions sort each class column once (O(C * N log N)); tied scores form one threshold
// point, as in scikit-learn's precision_recall_curve.
#pragma once

#include <cstdint>
#include <vector>

namespace edge::metrics {

// Reference mAP of EDGE's validate.py: mean over classes of
//   sklearn.metrics.auc(recall, precision) with
//   precision, recall, _ = sklearn.metrics.precision_recall_curve(labels[:, c], scores[:, c])
// i.e. the trapezoidal area under the PR curve that starts at (recall 0, precision 1) and
// visits every distinct score threshold (sklearn >= 1.1 keeps thresholds past full recall;
// they add no area).
double map_trapezoid(const std::vector<float>& scores, const std::vector<float>& labels,
                     int64_t n, int64_t c, std::vector<double>* per_class = nullptr);

// Standard mAP: mean over classes of sklearn.metrics.average_precision_score(labels[:, c],
// scores[:, c]) (step-wise sum of (R_k - R_{k-1}) * P_k).
double map_average_precision(const std::vector<float>& scores, const std::vector<float>& labels,
                             int64_t n, int64_t c, std::vector<double>* per_class = nullptr);

}  // namespace edge::metrics
