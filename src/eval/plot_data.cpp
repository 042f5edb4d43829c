#include "edge/eval/plot_data.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <stdexcept>

#include <fmt/format.h>

#include "edge/metrics/score_sort.h"

namespace edge::eval {

ScoreHistograms histogram_scores(const std::vector<std::pair<Histogram, std::vector<double>>>& sets, int bins) {
  if (bins < 1) throw std::invalid_argument(fmt::format("histogram_scores: expected bins >= 1, got {}", bins));
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& [h, values] : sets)
    for (double x : values) {
      if (!std::isfinite(x))
        throw std::invalid_argument(fmt::format("histogram_scores: set {} has a non-finite value {}", h.name, x));
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  if (!(lo < hi)) {  // one distinct value, or no values at all
    const double v = std::isfinite(lo) ? lo : 0.0;
    lo = v - 0.5;
    hi = v + 0.5;
  }
  ScoreHistograms out;
  const double width = (hi - lo) / bins;
  for (int k = 0; k <= bins; ++k) out.edges.push_back(k == bins ? hi : lo + k * width);
  for (const auto& [h, values] : sets) {
    Histogram hist = h;
    hist.counts.assign(size_t(bins), 0);
    for (double x : values) {
      const auto k = int64_t(std::floor((x - lo) / (hi - lo) * bins));
      ++hist.counts[size_t(std::clamp<int64_t>(k, 0, bins - 1))];
    }
    out.sets.push_back(std::move(hist));
  }
  return out;
}

RocCurve roc_curve(const std::vector<double>& id_scores, const std::vector<double>& ood_scores) {
  const auto id = metrics::sort_scores_descending(metrics::ScoreView(id_scores), "ID");
  const auto ood = metrics::sort_scores_descending(metrics::ScoreView(ood_scores), "OOD");
  const double n_id = double(id.size()), n_ood = double(ood.size());
  RocCurve c;
  c.fpr.push_back(0.0);
  c.tpr.push_back(0.0);
  size_t i = 0, o = 0;
  while (i < id.size() || o < ood.size()) {
    // The next distinct threshold: the largest remaining score; take every score equal to it.
    const double t = (o == ood.size() || (i < id.size() && id[i] >= ood[o])) ? id[i] : ood[o];
    while (i < id.size() && id[i] == t) ++i;
    while (o < ood.size() && ood[o] == t) ++o;
    c.fpr.push_back(double(o) / n_ood);
    c.tpr.push_back(double(i) / n_id);
  }
  return c;
}

RocCurve downsample_roc(const RocCurve& curve, std::size_t max_vertices) {
  if (max_vertices < 2)
    throw std::invalid_argument(fmt::format("downsample_roc: expected max_vertices >= 2, got {}", max_vertices));
  const size_t n = curve.fpr.size();
  if (n <= max_vertices) return curve;
  std::vector<size_t> prev(n), next(n);
  std::vector<unsigned> version(n, 0);
  std::vector<bool> alive(n, true);
  for (size_t k = 0; k < n; ++k) {
    prev[k] = k - 1;  // unused at the endpoints
    next[k] = k + 1;
  }
  auto area = [&](size_t k) {
    const size_t a = prev[k], b = next[k];
    return 0.5 * std::abs((curve.fpr[k] - curve.fpr[a]) * (curve.tpr[b] - curve.tpr[a]) -
                          (curve.fpr[b] - curve.fpr[a]) * (curve.tpr[k] - curve.tpr[a]));
  };
  struct Entry {
    double area;
    size_t k;
    unsigned version;
    bool operator>(const Entry& o) const { return area != o.area ? area > o.area : k > o.k; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  for (size_t k = 1; k + 1 < n; ++k) heap.push({area(k), k, 0});
  size_t left = n;
  while (left > max_vertices) {
    const Entry e = heap.top();
    heap.pop();
    if (!alive[e.k] || e.version != version[e.k]) continue;  // stale: the vertex or its neighbours changed
    alive[e.k] = false;
    --left;
    const size_t a = prev[e.k], b = next[e.k];
    next[a] = b;
    prev[b] = a;
    for (const size_t m : {a, b})
      if (m != 0 && m != n - 1) heap.push({area(m), m, ++version[m]});
  }
  RocCurve out;
  for (size_t k = 0; k < n; ++k)
    if (alive[k]) {
      out.fpr.push_back(curve.fpr[k]);
      out.tpr.push_back(curve.tpr[k]);
    }
  return out;
}

double trapezoid_area(const RocCurve& curve) {
  double a = 0.0;
  for (size_t k = 1; k < curve.fpr.size(); ++k)
    a += (curve.fpr[k] - curve.fpr[k - 1]) * (curve.tpr[k] + curve.tpr[k - 1]) / 2;
  return a;
}

}  // namespace edge::eval
