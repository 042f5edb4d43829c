// Multi-label mAP against scikit-learn goldens (scripts/make_metric_goldens.py) and live.
#include "edge/metrics/multilabel_map.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace {

using nlohmann::json;

constexpr double kTol = 1e-9;

const json& golden() {
  static const json data = [] {
    const auto path = edge::test::fixtures_dir() / "metrics_golden.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    return json::parse(in);
  }();
  return data;
}

struct Case {
  std::string name;
  std::vector<float> scores, labels;
  int64_t n = 0, c = 0;
};

Case load(const json& j) {
  Case k;
  k.name = j["name"].get<std::string>();
  k.n = j["n"].get<int64_t>();
  k.c = j["c"].get<int64_t>();
  for (const json& v : j["scores"]) k.scores.push_back(static_cast<float>(v.get<double>()));
  for (const json& v : j["labels"]) k.labels.push_back(static_cast<float>(v.get<int>()));
  return k;
}

void expect_per_class(const std::vector<double>& got, const json& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < got.size(); ++k) {
    SCOPED_TRACE("class " + std::to_string(k));
    if (want[k].is_null()) {
      EXPECT_TRUE(std::isnan(got[k])) << got[k];
    } else {
      EXPECT_NEAR(got[k], want[k].get<double>(), kTol);
    }
  }
}

TEST(MultilabelMapGolden, TrapezoidMatchesSklearnAucOfPrCurve) {
  ASSERT_GE(golden()["multilabel_cases"].size(), 2u);
  for (const json& j : golden()["multilabel_cases"]) {
    const Case k = load(j);
    SCOPED_TRACE(k.name);
    std::vector<double> per;
    EXPECT_NEAR(edge::metrics::map_trapezoid(k.scores, k.labels, k.n, k.c, &per),
                j["map_trapezoid"].get<double>(), kTol);
    expect_per_class(per, j["per_class_trapezoid"]);
  }
}

TEST(MultilabelMapGolden, AveragePrecisionMatchesSklearn) {
  for (const json& j : golden()["multilabel_cases"]) {
    const Case k = load(j);
    SCOPED_TRACE(k.name);
    std::vector<double> per;
    EXPECT_NEAR(edge::metrics::map_average_precision(k.scores, k.labels, k.n, k.c, &per),
                j["map_average_precision"].get<double>(), kTol);
    expect_per_class(per, j["per_class_ap"]);
    // Without the optional output the mean is the same.
    EXPECT_EQ(edge::metrics::map_average_precision(k.scores, k.labels, k.n, k.c),
              edge::metrics::map_average_precision(k.scores, k.labels, k.n, k.c, &per));
  }
}

TEST(MultilabelMapHand, HandComputedSingleClass) {
  // Scores 0.9 0.8 0.3 0.3 -0.2 with labels 1 0 1 0 1 (one column).
  // Thresholds: 0.9 (tp1 fp0), 0.8 (1,1), 0.3 (2,2), -0.2 (3,2).
  // AP = 1/3 * (1 + 0.5 + 0.6); trapezoid from (0,1): 1/3*(1+1)/2 + 1/3*(0.5+0.5)/2 + 1/3*(0.5+0.6)/2.
  const std::vector<float> s = {0.9f, 0.8f, 0.3f, 0.3f, -0.2f};
  const std::vector<float> y = {1, 0, 1, 0, 1};
  EXPECT_NEAR(edge::metrics::map_average_precision(s, y, 5, 1), (1.0 + 0.5 + 0.6) / 3.0, 1e-12);
  EXPECT_NEAR(edge::metrics::map_trapezoid(s, y, 5, 1), (1.0 + 0.5 + 0.55) / 3.0, 1e-12);
}

TEST(MultilabelMapHand, PerfectRankingGivesOne) {
  // 4 samples x 2 classes; each class's positives score above its negatives.
  const std::vector<float> s = {0.9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.7f, 0.1f, 0.9f};
  const std::vector<float> y = {1, 0, 1, 0, 0, 1, 0, 1};
  EXPECT_DOUBLE_EQ(edge::metrics::map_average_precision(s, y, 4, 2), 1.0);
  EXPECT_DOUBLE_EQ(edge::metrics::map_trapezoid(s, y, 4, 2), 1.0);
}

TEST(MultilabelMapHand, ClassWithoutPositivesIsSkipped) {
  // Class 1 has no positive: the mean equals class 0's value and per_class[1] is NaN.
  const std::vector<float> s = {0.9f, 0.5f, 0.2f, 0.4f, 0.6f, 0.3f};
  const std::vector<float> y = {0, 0, 1, 0, 1, 0};
  std::vector<double> per;
  const double m = edge::metrics::map_average_precision(s, y, 3, 2, &per);
  ASSERT_EQ(per.size(), 2u);
  EXPECT_TRUE(std::isnan(per[1]));
  EXPECT_DOUBLE_EQ(m, per[0]);
  const std::vector<float> s0 = {0.9f, 0.2f, 0.6f};
  const std::vector<float> y0 = {0, 1, 1};
  EXPECT_DOUBLE_EQ(m, edge::metrics::map_average_precision(s0, y0, 3, 1));
  EXPECT_DOUBLE_EQ(edge::metrics::map_trapezoid(s, y, 3, 2),
                   edge::metrics::map_trapezoid(s0, y0, 3, 1));
}

TEST(MultilabelMapErrors, InvalidInputsThrow) {
  const std::vector<float> s = {0.1f, 0.2f, 0.3f, 0.4f};
  const std::vector<float> y = {1, 0, 0, 1};
  EXPECT_THROW(edge::metrics::map_trapezoid(s, y, 3, 2), std::invalid_argument);  // size
  EXPECT_THROW(edge::metrics::map_average_precision(s, {1, 0, 0}, 2, 2), std::invalid_argument);
  EXPECT_THROW(edge::metrics::map_trapezoid({}, {}, 0, 2), std::invalid_argument);
  EXPECT_THROW(edge::metrics::map_trapezoid(s, y, 4, 0), std::invalid_argument);
  EXPECT_THROW(edge::metrics::map_trapezoid(s, {0, 0, 0, 0}, 2, 2), std::invalid_argument);
  EXPECT_THROW(edge::metrics::map_average_precision(s, {0, 0, 0, 0}, 4, 1),
               std::invalid_argument);
  EXPECT_THROW(
      edge::metrics::map_trapezoid({0.1f, std::numeric_limits<float>::quiet_NaN()}, {1, 0}, 2, 1),
      std::invalid_argument);
  EXPECT_THROW(edge::metrics::map_average_precision(
                   {0.1f, std::numeric_limits<float>::infinity()}, {1, 0}, 2, 1),
               std::invalid_argument);
  EXPECT_THROW(edge::metrics::map_trapezoid(s, {1, 0, 2, 1}, 2, 2), std::invalid_argument);
  try {
    edge::metrics::map_average_precision(s, {0, 0, 0, 0}, 2, 2);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("positive"), std::string::npos) << e.what();
  }
}

// A fresh random case (new seed every run) through scikit-learn.
TEST(MultilabelMapLive, FreshRandomCaseMatchesSklearn) {
  if (!edge::test::python_has_modules("sklearn,numpy")) {
    GTEST_SKIP() << "Debian python3 with numpy + scikit-learn not available";
  }
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dn(20, 150), dc(1, 8);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const int64_t n = dn(rng), c = dc(rng);
  std::vector<float> s(n * c), y(n * c);
  for (int64_t k = 0; k < n * c; ++k) {
    y[k] = u(rng) < 0.3f ? 1.0f : 0.0f;
    s[k] = u(rng) + 0.4f * y[k];
    if (k % c == 0) s[k] = std::round(s[k] * 10.0f) / 10.0f;  // ties in class 0
  }
  y[0] = 1.0f;  // at least one positive overall
  std::ostringstream os;
  os.precision(9);  // round-trips float32
  os << "import json\nimport numpy as np\n"
        "from sklearn.metrics import auc, average_precision_score, precision_recall_curve\n"
        "s = np.array([";
  for (std::size_t k = 0; k < s.size(); ++k) os << (k ? "," : "") << s[k];
  os << "], dtype=np.float32).reshape(" << n << ", " << c << ")\ny = np.array([";
  for (std::size_t k = 0; k < y.size(); ++k) os << (k ? "," : "") << y[k];
  os << "], dtype=np.float32).reshape(" << n << ", " << c << ")\n"
        "t, a = [], []\n"
        "for k in range(y.shape[1]):\n"
        "    if y[:, k].sum() == 0:\n"
        "        t.append(None); a.append(None); continue\n"
        "    p, r, _ = precision_recall_curve(y[:, k], s[:, k])\n"
        "    t.append(float(auc(r, p))); a.append(float(average_precision_score(y[:, k], s[:, k])))\n"
        "print('EDGE_JSON ' + json.dumps({'t': t, 'a': a}))\n";
  const std::string out = edge::test::run_python(os.str());
  const auto pos = out.rfind("EDGE_JSON ");
  ASSERT_NE(pos, std::string::npos) << out;
  const json r = json::parse(out.substr(pos + 10, out.find('\n', pos) - pos - 10));

  std::vector<double> per_t, per_a;
  const double mt = edge::metrics::map_trapezoid(s, y, n, c, &per_t);
  const double ma = edge::metrics::map_average_precision(s, y, n, c, &per_a);
  expect_per_class(per_t, r["t"]);
  expect_per_class(per_a, r["a"]);
  double st = 0.0, sa = 0.0;
  int used = 0;
  for (int64_t k = 0; k < c; ++k) {
    if (r["t"][k].is_null()) continue;
    st += r["t"][k].get<double>();
    sa += r["a"][k].get<double>();
    ++used;
  }
  EXPECT_NEAR(mt, st / used, kTol);
  EXPECT_NEAR(ma, sa / used, kTol);
}

}  // namespace
