#include <gtest/gtest.h>
#include <torch/torch.h>

#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/eval/ood_report.h"
#include "edge/eval/plot_data.h"
#include "edge/metrics/ood_metrics.h"
#include "support/test_support.h"

namespace {

using edge::eval::Histogram;
using edge::eval::HistogramRole;
using edge::eval::RocCurve;

int64_t sum(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t(0)); }

TEST(PlotData, HistogramsShareBinsAndCountEveryValue) {
  const std::vector<double> a = {-1.0, 0.0, 0.5, 2.0, 3.0}, b = {3.0, 3.0, 1.49}, empty;
  const auto h = edge::eval::histogram_scores(
      {{{"a", HistogramRole::IdTest, {}}, a}, {{"b", HistogramRole::Ood, {}}, b}, {{"e", HistogramRole::IdTail, {}}, empty}},
      4);
  ASSERT_EQ(h.edges, (std::vector<double>{-1.0, 0.0, 1.0, 2.0, 3.0}));
  ASSERT_EQ(h.sets.size(), 3u);
  EXPECT_EQ(h.sets[0].counts, (std::vector<int64_t>{1, 2, 0, 2}));  // 3.0 (the maximum) in the closed last bin
  EXPECT_EQ(h.sets[1].counts, (std::vector<int64_t>{0, 0, 1, 2}));
  EXPECT_EQ(h.sets[2].counts, (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(h.sets[1].name, "b");
  EXPECT_EQ(h.sets[2].role, HistogramRole::IdTail);

  const auto one = edge::eval::histogram_scores({{{"c", HistogramRole::Ood, {}}, {2.0, 2.0}}}, 3);
  EXPECT_EQ(one.edges.front(), 1.5);
  EXPECT_EQ(one.edges.back(), 2.5);
  EXPECT_EQ(sum(one.sets[0].counts), 2);
  EXPECT_THROW(edge::eval::histogram_scores({{{"c", HistogramRole::Ood, {}}, {NAN}}}, 3), std::invalid_argument);
  EXPECT_THROW(edge::eval::histogram_scores({}, 0), std::invalid_argument);
}

TEST(PlotData, RocCurveHasOnePointPerDistinctScore) {
  // Thresholds 3, 2 (tie between ID and OOD), 1, 0.
  const auto c = edge::eval::roc_curve({3, 2, 2, 1}, {2, 0});
  EXPECT_EQ(c.fpr, (std::vector<double>{0, 0, 0.5, 0.5, 1}));
  EXPECT_EQ(c.tpr, (std::vector<double>{0, 0.25, 0.75, 1, 1}));
  EXPECT_DOUBLE_EQ(edge::eval::trapezoid_area(c), edge::metrics::auroc({3, 2, 2, 1}, {2, 0}));
  EXPECT_THROW(edge::eval::roc_curve({}, {1}), std::invalid_argument);
}

// Normal scores rounded to two decimals (many ties), OOD shifted down.
std::vector<double> scores(size_t n, double mean, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(mean, 1.0);
  std::vector<double> v(n);
  for (auto& x : v) x = std::round(d(rng) * 100) / 100;
  return v;
}

TEST(PlotData, DownsampledRocKeepsEndpointsMonotonicityAndArea) {
  const auto id = scores(20000, 1.0, 1), ood = scores(15000, 0.0, 2);
  const RocCurve full = edge::eval::roc_curve(id, ood);
  ASSERT_GT(full.fpr.size(), 400u);
  const double auroc = edge::metrics::auroc(id, ood);
  EXPECT_NEAR(edge::eval::trapezoid_area(full), auroc, 1e-12);
  const RocCurve d = edge::eval::downsample_roc(full, 400);
  ASSERT_EQ(d.fpr.size(), 400u);
  EXPECT_EQ(d.fpr.front(), 0.0);
  EXPECT_EQ(d.tpr.front(), 0.0);
  EXPECT_EQ(d.fpr.back(), 1.0);
  EXPECT_EQ(d.tpr.back(), 1.0);
  std::set<std::pair<double, double>> vertices;
  for (size_t k = 0; k < full.fpr.size(); ++k) vertices.insert({full.fpr[k], full.tpr[k]});
  for (size_t k = 0; k < d.fpr.size(); ++k) {
    EXPECT_TRUE(vertices.count({d.fpr[k], d.tpr[k]})) << "vertex " << k << " is not on the full curve";
    if (k > 0) {
      EXPECT_GE(d.fpr[k], d.fpr[k - 1]);
      EXPECT_GE(d.tpr[k], d.tpr[k - 1]);
    }
  }
  const double err = std::abs(edge::eval::trapezoid_area(d) - auroc);
  EXPECT_LT(err, 1e-4) << "area error " << err;
  EXPECT_EQ(edge::eval::downsample_roc(full, full.fpr.size()).fpr, full.fpr);
  EXPECT_THROW(edge::eval::downsample_roc(full, 1), std::invalid_argument);
}

TEST(PlotData, RocCurveEqualsSklearn) {
  // One interpreter start (importing sklearn takes seconds): it says so if sklearn is missing.
  if (edge::test::system_python().empty()) GTEST_SKIP() << "Debian python3 not available";
  const auto id = scores(300, 0.8, 3), ood = scores(200, 0.0, 4);
  const RocCurve c = edge::eval::roc_curve(id, ood);
  const std::string out = edge::test::run_python(fmt::format(R"(
try:
    import numpy as np
    from sklearn.metrics import roc_curve
except ImportError:
    print('missing'); raise SystemExit(0)
i = np.array([{}]); o = np.array([{}])
fpr, tpr, _ = roc_curve(np.r_[np.ones(len(i)), np.zeros(len(o))], np.r_[i, o], drop_intermediate=False)
print(len(fpr)); print(' '.join(repr(x) for x in fpr)); print(' '.join(repr(x) for x in tpr))
)", fmt::join(id, ","), fmt::join(ood, ",")));
  if (out.rfind("missing", 0) == 0) GTEST_SKIP() << "Debian python3 with sklearn not available";
  std::istringstream in(out);
  size_t n = 0;
  in >> n;
  ASSERT_EQ(n, c.fpr.size());
  for (size_t k = 0; k < n; ++k) {
    double x = 0;
    in >> x;
    EXPECT_DOUBLE_EQ(c.fpr[k], x) << k;
  }
  for (size_t k = 0; k < n; ++k) {
    double y = 0;
    in >> y;
    EXPECT_DOUBLE_EQ(c.tpr[k], y) << k;
  }
}

TEST(PlotData, OodReportCarriesHistogramsAndRocCurves) {
  // Classes 0 (4 positives), 1 (3), 2 (2); ID samples with none of classes 0 and 1: rows 5 and 6.
  const auto labels = torch::tensor({{1.f, 0.f, 0.f}, {1.f, 1.f, 0.f}, {1.f, 0.f, 1.f}, {1.f, 1.f, 0.f},
                                     {0.f, 1.f, 0.f}, {0.f, 0.f, 0.f}, {0.f, 0.f, 1.f}});
  const auto logits = torch::randn({7, 3}, torch::kFloat64);
  const std::vector<double> id = {5, 4, 3, 2.5, 2, 1, 0.5};
  const edge::eval::NamedScores ood = {{"a", {0, 1, 2, 3}}, {"b", {-1, 4.5, 0.7}}};
  const auto r = edge::eval::evaluate_scores("s", id, ood, logits, labels, {0, 2, 1}, {"x", "y", "z"});
  ASSERT_EQ(r.histograms.sets.size(), 4u);
  EXPECT_EQ(r.histograms.edges.size(), size_t(edge::eval::OodReport::kHistogramBins) + 1);
  EXPECT_EQ(r.histograms.edges.front(), -1.0);
  EXPECT_EQ(r.histograms.edges.back(), 5.0);
  EXPECT_EQ(r.histograms.sets[0].role, HistogramRole::IdTest);
  EXPECT_EQ(sum(r.histograms.sets[0].counts), 7);
  EXPECT_EQ(r.histograms.sets[1].role, HistogramRole::IdTail);
  EXPECT_EQ(r.histograms.sets[1].name, "ID tail (j = 2)");
  EXPECT_EQ(sum(r.histograms.sets[1].counts), r.tail_for(2).rows.back().n_id);
  EXPECT_EQ(sum(r.histograms.sets[1].counts), 2);
  EXPECT_EQ(r.histograms.sets[2].name, "a");
  EXPECT_EQ(sum(r.histograms.sets[2].counts), 4);
  EXPECT_EQ(sum(r.histograms.sets[3].counts), 3);
  ASSERT_EQ(r.roc.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(edge::eval::trapezoid_area(r.roc[i]), r.rows[i].auroc, 1e-12);

  const auto no_tail = edge::eval::evaluate_scores("s", id, ood, logits, labels, {0}, {"x", "y", "z"});
  EXPECT_EQ(no_tail.histograms.sets.size(), 3u);  // j = 0 is the whole ID set: no separate tail histogram
}

}  // namespace
