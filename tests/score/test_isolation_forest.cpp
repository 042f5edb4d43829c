// Isolation forest: determinism, and statistical agreement with sklearn on a clear-cut
// dataset (tests/fixtures/score_golden.json "isol": ID ~ N(0, I), OOD ~ N(4, I), 4-d).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <numeric>

#include "edge/common/atomic_file.h"
#include "edge/metrics/ood_metrics.h"
#include "edge/score/isolation_forest.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;

torch::Tensor rows(const json& j) {
  std::vector<double> flat;
  for (const auto& r : j)
    for (const auto& v : r) flat.push_back(v.get<double>());
  return torch::tensor(flat, torch::kFloat64).view({int64_t(j.size()), -1});
}

std::vector<double> vec(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size(); ++i) r[idx[i]] = double(i);
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const auto ra = ranks(a), rb = ranks(b);
  const double n = double(a.size());
  double d2 = 0;
  for (size_t i = 0; i < a.size(); ++i) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
  return 1.0 - 6.0 * d2 / (n * (n * n - 1.0));
}

struct Data {
  json g = json::parse(edge::read_text_file(edge::test::fixtures_dir() / "score_golden.json"))["isol"];
  torch::Tensor val = rows(g["val"]), id = rows(g["id"]), ood = rows(g["ood"]);
};

TEST(IsolationForest, SameSeedSameScoresOtherSeedOtherTrees) {
  Data d;
  edge::score::IsolationForest a({100, 256, 7}), b({100, 256, 7}), c({100, 256, 8});
  a.fit(d.val);
  b.fit(d.val);
  c.fit(d.val);
  EXPECT_TRUE(torch::equal(a.score_samples(d.id), b.score_samples(d.id)));
  EXPECT_FALSE(torch::equal(a.score_samples(d.id), c.score_samples(d.id)));
  EXPECT_EQ(a.max_samples(), 256);
}

TEST(IsolationForest, AgreesWithSklearnOnAClearCutDataset) {
  Data d;
  const auto sk_auroc = d.g["sklearn_auroc"].get<std::vector<double>>();
  const double sk_mean = std::accumulate(sk_auroc.begin(), sk_auroc.end(), 0.0) / double(sk_auroc.size());
  const auto sk_scores = d.g["sklearn_mean_score"].get<std::vector<double>>();
  for (uint64_t seed : {0, 1, 2}) {
    edge::score::IsolationForest f({100, 256, seed});
    f.fit(d.val);
    const auto id = vec(f.score_samples(d.id)), ood = vec(f.score_samples(d.ood));
    const double auroc = edge::metrics::auroc(id, ood);
    EXPECT_GT(auroc, 0.99) << "seed " << seed;
    EXPECT_NEAR(auroc, sk_mean, 0.01) << "seed " << seed;
    std::vector<double> all = id;
    all.insert(all.end(), ood.begin(), ood.end());
    EXPECT_GT(spearman(all, sk_scores), 0.9) << "seed " << seed;
    // sklearn's scale: -2^(-E h / c(256)), inliers near -0.4 .. -0.5, outliers towards -1.
    for (double s : all) {
      EXPECT_LT(s, 0.0);
      EXPECT_GE(s, -1.0);
    }
    double mean_gap = 0;
    for (size_t i = 0; i < all.size(); ++i) mean_gap += std::abs(all[i] - sk_scores[i]) / double(all.size());
    EXPECT_LT(mean_gap, 0.03) << "seed " << seed;
    if (std::getenv("EDGE_PRINT_AGREEMENT"))
      std::printf("agreement isol seed %d: AUROC %.4f (sklearn mean %.4f), Spearman %.4f, mean |score gap| %.4f\n",
                  int(seed), auroc, sk_mean, spearman(all, sk_scores), mean_gap);
  }
}

TEST(IsolationForest, AurocAgreesWithSklearnOnOverlappingSets) {
  // OOD ~ N(1, I): sklearn's AUROC is far from 1, so a wrong path length or split rule shows.
  Data d;
  const auto sk = d.g["sklearn_near_auroc"].get<std::vector<double>>();
  const double sk_mean = std::accumulate(sk.begin(), sk.end(), 0.0) / double(sk.size());
  double ours = 0;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    edge::score::IsolationForest f({100, 256, seed});
    f.fit(d.val);
    ours += edge::metrics::auroc(vec(f.score_samples(d.id)), vec(f.score_samples(rows(d.g["near_ood"])))) / 5.0;
  }
  EXPECT_LT(sk_mean, 0.95);
  EXPECT_NEAR(ours, sk_mean, 0.02);
  if (std::getenv("EDGE_PRINT_AGREEMENT"))
    std::printf("agreement isol near-OOD: AUROC %.4f (sklearn %.4f, mean of 5 seeds each)\n", ours, sk_mean);
}

TEST(IsolationForest, PathLengthOfAnIsolatedPointIsShort) {
  // One far outlier among identical points: it is split off at the root, depth 1, c(1) = 0.
  torch::Tensor x = torch::zeros({8, 2}, torch::kFloat64);
  x[7][0] = 100.0;
  edge::score::IsolationForest f({20, 256, 1});
  f.fit(x);
  const auto h = f.mean_path_length(x.slice(0, 6, 8));
  // The 7 equal points are never separable: depth 1 leaf of size 7 -> 1 + c(7).
  EXPECT_NEAR(h[0].item<double>(), 1.0 + edge::score::average_path_length(7), 1e-12);
  EXPECT_NEAR(h[1].item<double>(), 1.0, 1e-12);
}

}  // namespace
