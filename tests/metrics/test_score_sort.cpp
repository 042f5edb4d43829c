#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "edge/metrics/ood_metrics.h"
#include "edge/metrics/score_sort.h"

namespace {

using edge::metrics::ScoreView;
using edge::metrics::sort_scores_descending;

std::vector<double> reference_sort(std::vector<double> v) {
  std::sort(v.begin(), v.end(), std::greater<double>());
  return v;
}

void expect_sorted_like_std(const std::vector<double>& v) {
  const auto got = sort_scores_descending(ScoreView(v), "ID");
  const auto want = reference_sort(v);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < got.size(); ++k) {
    ASSERT_EQ(got[k], want[k]) << "at " << k;
    ASSERT_FALSE(std::signbit(got[k]) && got[k] == 0.0) << "-0.0 at " << k;
  }
}

// Every size regime (std::sort below 4096, radix above) and every kind of key: both signs,
// zeros of both signs, subnormals, extremes, heavy ties, float32-derived values (whose low
// mantissa digits are constant, so the radix sort skips passes).
TEST(ScoreSort, EqualsStdSortOnMixedValues) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0.0, 50.0);
  for (const std::size_t n : {std::size_t(1), std::size_t(100), std::size_t(4095), std::size_t(4096),
                              std::size_t(50000)}) {
    std::vector<double> v(n);
    for (std::size_t k = 0; k < n; ++k) {
      switch (k % 7) {
        case 0: v[k] = normal(rng); break;
        case 1: v[k] = std::round(normal(rng));  break;  // ties
        case 2: v[k] = (k % 2) ? 0.0 : -0.0; break;
        case 3: v[k] = static_cast<float>(normal(rng)); break;
        case 4: v[k] = (k % 3 == 0) ? std::numeric_limits<double>::denorm_min() * double(k)
                                    : -std::numeric_limits<double>::denorm_min(); break;
        case 5: v[k] = (k % 2) ? std::numeric_limits<double>::max() : std::numeric_limits<double>::lowest(); break;
        default: v[k] = -std::abs(normal(rng)) * 1e-300; break;
      }
    }
    std::shuffle(v.begin(), v.end(), rng);
    expect_sorted_like_std(v);
  }
}

TEST(ScoreSort, FloatDerivedAndConstantInputs) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> u(-30.f, 30.f);
  std::vector<double> f(20000);
  for (auto& x : f) x = u(rng);
  expect_sorted_like_std(f);
  expect_sorted_like_std(std::vector<double>(10000, -2.5));  // every digit constant: no pass
  std::vector<double> zeros(9000);
  for (std::size_t k = 0; k < zeros.size(); ++k) zeros[k] = k % 3 ? 0.0 : -0.0;
  expect_sorted_like_std(zeros);
}

// Inputs large enough for the distribution by the top 16 bits: full-precision normals (many
// buckets of consecutive bins), one bin holding more than a bucket's cap (1 <= x < 1.0625
// share their top bits: a bucket of its own), and the two mixed with ties and both signs.
TEST(ScoreSort, EqualsStdSortWhereTheTopBitsSplitTheInputIntoBuckets) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> narrow(1.0, 1.0625);
  std::vector<double> spread(300000), one_bin(100000), mixed(200000);
  for (auto& x : spread) x = normal(rng);
  for (auto& x : one_bin) x = narrow(rng);
  for (std::size_t k = 0; k < mixed.size(); ++k)
    mixed[k] = k % 3 == 0 ? narrow(rng) : k % 3 == 1 ? -std::round(normal(rng) * 4) : normal(rng) * 1e6;
  expect_sorted_like_std(spread);
  expect_sorted_like_std(one_bin);
  expect_sorted_like_std(mixed);
}

TEST(ScoreSort, RejectsEmptyAndNonFiniteNamingTheFirstBadIndex) {
  EXPECT_THROW(sort_scores_descending(ScoreView(), "ID"), std::invalid_argument);
  for (const std::size_t n : {std::size_t(10), std::size_t(10000)}) {
    std::vector<double> v(n, 1.0);
    v[5] = std::nan("");
    v[7] = std::numeric_limits<double>::infinity();
    try {
      sort_scores_descending(ScoreView(v), "OOD");
      FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("OOD score #5 "), std::string::npos) << e.what();
    }
  }
}

// A large input with heavy ties across the two sets (radix sorts on two threads): AUROC
// equals an independent count, P(id > ood) + P(id == ood) / 2 by binary search.
TEST(ScoreSort, LargeMetricsMatchRankFormula) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> id(70000), ood(80000);
  for (auto& x : id) x = std::round(4 * (normal(rng) + 1.0)) / 4;  // heavy ties across sets
  for (auto& x : ood) x = std::round(4 * normal(rng)) / 4;
  // AUROC = P(id > ood) + 0.5 P(id == ood), counted with a sorted OOD copy and binary search.
  auto sorted_ood = ood;
  std::sort(sorted_ood.begin(), sorted_ood.end());
  long double wins = 0;
  for (const double x : id) {
    const auto lo = std::lower_bound(sorted_ood.begin(), sorted_ood.end(), x);
    const auto hi = std::upper_bound(sorted_ood.begin(), sorted_ood.end(), x);
    wins += (lo - sorted_ood.begin()) + 0.5L * (hi - lo);
  }
  const double want = static_cast<double>(wins / (static_cast<long double>(id.size()) * static_cast<long double>(ood.size())));
  EXPECT_NEAR(edge::metrics::auroc(id, ood), want, 1e-12);
}

}  // namespace
