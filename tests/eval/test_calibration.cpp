// The calibration threshold rule (eval/calibration.h) by hand and against numpy, and the
// calibration file's round trip.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "edge/eval/calibration.h"
#include "support/test_support.h"

namespace {

using edge::eval::tpr_threshold;

TEST(Calibration, ThresholdIsTheCeilTprNthLargestScore) {
  // 20 distinct scores 1..20: TPR 0.95 -> k = 19 -> 19th largest = 2, 19 of 20 kept.
  std::vector<double> s;
  for (int i = 20; i >= 1; --i) s.push_back(i);
  auto t = tpr_threshold(s, 0.95);
  EXPECT_EQ(t.rank, 19);
  EXPECT_DOUBLE_EQ(t.threshold, 2.0);
  EXPECT_DOUBLE_EQ(t.achieved_tpr, 0.95);
  // 0.9 * 21 = 18.9 -> k = 19 of 21: the 19th largest, 2.
  s.push_back(0.5);
  t = tpr_threshold(s, 0.9);
  EXPECT_EQ(t.rank, 19);
  EXPECT_DOUBLE_EQ(t.threshold, 2.0);
  EXPECT_DOUBLE_EQ(t.achieved_tpr, 19.0 / 21.0);
  // TPR 1 keeps everything: the minimum.
  EXPECT_DOUBLE_EQ(tpr_threshold(s, 1.0).threshold, 0.5);
  // Ties at the threshold all count as ID: achieved TPR rises above the target.
  t = tpr_threshold({5, 4, 4, 4, 1}, 0.4);  // k = 2 -> 4, and three 4s
  EXPECT_DOUBLE_EQ(t.threshold, 4.0);
  EXPECT_DOUBLE_EQ(t.achieved_tpr, 0.8);
  // A tiny TPR still keeps one image.
  EXPECT_EQ(tpr_threshold({3, 2, 1}, 0.01).rank, 1);
}

TEST(Calibration, RejectsBadTprEmptyAndNonFiniteScores) {
  EXPECT_THROW(tpr_threshold({1, 2}, 0.0), edge::UsageError);
  EXPECT_THROW(tpr_threshold({1, 2}, 1.5), edge::UsageError);
  EXPECT_THROW(tpr_threshold({}, 0.95), edge::DataError);
  EXPECT_THROW(tpr_threshold({1, std::nan("")}, 0.95), edge::NumericError);
}

TEST(Calibration, MatchesNumpyInvertedCdfQuantile) {
  if (!edge::test::python_has_modules("numpy")) GTEST_SKIP() << "Debian python3 with numpy not available";
  std::mt19937_64 g(7);
  std::normal_distribution<double> normal(3.0, 2.0);
  std::vector<std::vector<double>> sets;
  for (int n : {1, 7, 20, 999, 1000, 1001}) {
    std::vector<double> s(static_cast<size_t>(n));
    for (auto& v : s) v = normal(g);
    sets.push_back(s);
  }
  sets.push_back({1, 1, 1, 2, 2, 3, 3, 3, 3, 4});  // ties
  const std::vector<double> tprs = {0.5, 0.9, 0.95, 0.99, 1.0};
  std::ostringstream py;
  py << "import numpy as np\nsets = [";
  for (const auto& s : sets) py << "[" << fmt::format("{:.17g}", fmt::join(s, ",")) << "],";
  py << "]\nfor s in sets:\n  s = np.array(s)\n  for p in " << fmt::format("[{}]", fmt::join(tprs, ","))
     << ":\n    t = -np.quantile(-s, p, method='inverted_cdf')\n    print(repr(float(t)), repr(float(np.mean(s >= t))))\n";
  std::istringstream lines(edge::test::run_python(py.str()));
  for (const auto& s : sets)
    for (double p : tprs) {
      double t = 0, achieved = 0;
      ASSERT_TRUE(lines >> t >> achieved);
      const auto mine = tpr_threshold(s, p);
      EXPECT_EQ(mine.threshold, t) << "n=" << s.size() << " tpr=" << p;
      EXPECT_EQ(mine.achieved_tpr, achieved) << "n=" << s.size() << " tpr=" << p;
      if (s.size() > 10) {  // distinct scores: within one image of the target
        EXPECT_GE(mine.achieved_tpr, p);
        EXPECT_LT(mine.achieved_tpr, p + 1.0 / double(s.size()));
      }
    }
}

TEST(Calibration, FileRoundTripsAndMalformedFileIsNamed) {
  edge::test::TempDir dir;
  EXPECT_FALSE(edge::eval::read_calibration(dir.path()).has_value());
  edge::eval::Calibration c;
  c.score = "energy_topk";
  c.score_options.topk = 3;
  c.threshold = 1.25;
  c.achieved_tpr = 0.951;
  c.n = 1000;
  c.dataset = "fashion-lt";
  c.split = "val";
  c.weights_hash = "0123456789abcdef";
  c.created = edge::eval::utc_now_iso8601();
  c.class_names = {"a", "b"};
  edge::eval::write_calibration(dir.path(), c);
  const auto back = edge::eval::read_calibration(dir.path());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->score, "energy_topk");
  EXPECT_EQ(back->score_options.topk, 3);
  EXPECT_EQ(back->threshold, 1.25);
  EXPECT_EQ(back->class_names, c.class_names);
  EXPECT_EQ(back->created.size(), 20u) << back->created;

  edge::write_text_atomically(edge::eval::calibration_file(dir.path()), "{\"score\": 3}");
  try {
    edge::eval::read_calibration(dir.path());
    FAIL() << "malformed calibration accepted";
  } catch (const edge::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("calibration.json"), std::string::npos) << e.what();
  }
}

TEST(Calibration, OnlyLogitScoresAreAllowed) {
  EXPECT_EQ(edge::eval::parse_deploy_score("energy"), edge::score::ScoreKind::EnergySum);
  try {
    edge::eval::parse_deploy_score("mahalanobis_max");
    FAIL() << "mahalanobis accepted";
  } catch (const edge::UsageError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("mahalanobis_max"), std::string::npos) << m;
    EXPECT_NE(m.find("energy_sum"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  EXPECT_THROW(edge::eval::parse_deploy_score("bogus"), edge::UsageError);
}

}  // namespace
