// Compact plot data for one OOD score (the HTML report): histograms of several score sets
// on shared bins, and ROC curves reduced to a few hundred vertices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace edge::eval {

enum class HistogramRole { IdTest, IdTail, Ood };

struct Histogram {
  std::string name;             // "ID test", "ID tail (j = 4)" or an OOD set name
  HistogramRole role = HistogramRole::Ood;
  std::vector<int64_t> counts;  // one per bin; sums to the set's size
};

struct ScoreHistograms {
  std::vector<double> edges;    // bins + 1 increasing edges, shared by every histogram
  std::vector<Histogram> sets;
};

// Histograms of every set on `bins` equal-width bins spanning the smallest to the largest
// value of all sets together (a single value v: [v - 0.5, v + 0.5]); bin k holds
// edges[k] <= x < edges[k + 1], the last bin also its upper edge, so every value is counted.
// Throws std::invalid_argument for bins < 1 or a NaN / infinite value.
ScoreHistograms histogram_scores(const std::vector<std::pair<Histogram, std::vector<double>>>& sets, int bins = 40);

struct RocCurve {
  std::vector<double> fpr, tpr;  // from (0, 0) to (1, 1), both non-decreasing
  bool empty() const { return fpr.empty(); }
};

// The full ROC curve with ID positive (higher score = ID): (0, 0), then one point per
// distinct score, descending. Equal to sklearn roc_curve(is_id, scores, drop_intermediate=False).
// Throws std::invalid_argument for an empty set or a NaN / infinite score.
RocCurve roc_curve(const std::vector<double>& id_scores, const std::vector<double>& ood_scores);

// At most `max_vertices` (>= 2) of the curve's vertices, endpoints kept: the vertex spanning the
// smallest triangle with its neighbours is dropped first (Visvalingam-Whyatt), so straight runs
// go first and the trapezoid area moves by no more than the dropped triangles' areas.
RocCurve downsample_roc(const RocCurve& curve, std::size_t max_vertices = 400);

// Trapezoid area under the curve (= AUROC for the full curve).
double trapezoid_area(const RocCurve& curve);

}  // namespace edge::eval
