// OOD metrics against scikit-learn goldens (scripts/make_metric_goldens.py) and a live check.
#include "edge/metrics/ood_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
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

using edge::metrics::FprConvention;
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

std::vector<double> doubles(const json& j) { return j.get<std::vector<double>>(); }

TEST(OodMetricsGolden, FixtureLoads) {
  const json& g = golden();
  ASSERT_TRUE(g.contains("ood_cases"));
  EXPECT_GE(g["ood_cases"].size(), 10u);
}

TEST(OodMetricsGolden, AurocMatchesSklearn) {
  for (const json& c : golden()["ood_cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    EXPECT_NEAR(edge::metrics::auroc(doubles(c["id"]), doubles(c["ood"])),
                c["auroc"].get<double>(), kTol);
  }
}

TEST(OodMetricsGolden, AuprInMatchesSklearn) {
  for (const json& c : golden()["ood_cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    EXPECT_NEAR(edge::metrics::aupr_in(doubles(c["id"]), doubles(c["ood"])),
                c["aupr_in"].get<double>(), kTol);
  }
}

TEST(OodMetricsGolden, AuprOutMatchesSklearn) {
  for (const json& c : golden()["ood_cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    EXPECT_NEAR(edge::metrics::aupr_out(doubles(c["id"]), doubles(c["ood"])),
                c["aupr_out"].get<double>(), kTol);
  }
}

TEST(OodMetricsGolden, FprNearestMatchesReferenceRuleAtAllLevels) {
  for (const json& c : golden()["ood_cases"]) {
    const auto id = doubles(c["id"]);
    const auto ood = doubles(c["ood"]);
    for (const json& p : c["fpr_nearest"]) {
      SCOPED_TRACE(c["name"].get<std::string>() + " level " + p["level"].dump());
      const auto r = edge::metrics::fpr_at_recall_nearest(id, ood, p["level"].get<double>());
      EXPECT_NEAR(r.fpr, p["fpr"].get<double>(), kTol);
      EXPECT_NEAR(r.threshold, p["threshold"].get<double>(), kTol);
    }
  }
}

TEST(OodMetricsGolden, FprOodPositiveMatchesSklearnRocCurve) {
  for (const json& c : golden()["ood_cases"]) {
    const auto id = doubles(c["id"]);
    const auto ood = doubles(c["ood"]);
    for (const char* key : {"fpr_ood_positive", "fpr_ood_positive_all_points"}) {
      const bool drop = std::string(key) == "fpr_ood_positive";
      for (const json& p : c[key]) {
        SCOPED_TRACE(c["name"].get<std::string>() + " " + key + " level " + p["level"].dump());
        const auto r =
            edge::metrics::fpr_at_tpr_ood_positive(id, ood, p["level"].get<double>(), drop);
        EXPECT_NEAR(r.fpr, p["fpr"].get<double>(), kTol);
        EXPECT_NEAR(r.threshold, p["threshold"].get<double>(), kTol);
      }
    }
  }
}

const json& level95(const json& arr) {
  for (const json& p : arr)
    if (p["level"].get<double>() == 0.95) return p;
  throw std::runtime_error("no 0.95 level in golden");
}

TEST(OodMetricsGolden, ComputeOodMetricsBothConventions) {
  for (const json& c : golden()["ood_cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto id = doubles(c["id"]);
    const auto ood = doubles(c["ood"]);
    const auto ref = edge::metrics::compute_ood_metrics(id, ood);
    EXPECT_EQ(ref.convention, FprConvention::IdPositiveNearest);
    EXPECT_NEAR(ref.auroc, c["auroc"].get<double>(), kTol);
    EXPECT_NEAR(ref.aupr_in, c["aupr_in"].get<double>(), kTol);
    EXPECT_NEAR(ref.aupr_out, c["aupr_out"].get<double>(), kTol);
    EXPECT_NEAR(ref.fpr95, level95(c["fpr_nearest"])["fpr"].get<double>(), kTol);
    EXPECT_NEAR(ref.threshold, level95(c["fpr_nearest"])["threshold"].get<double>(), kTol);

    const auto oo = edge::metrics::compute_ood_metrics(id, ood, FprConvention::OodPositive);
    EXPECT_EQ(oo.convention, FprConvention::OodPositive);
    EXPECT_EQ(oo.auroc, ref.auroc);
    EXPECT_EQ(oo.aupr_in, ref.aupr_in);
    EXPECT_EQ(oo.aupr_out, ref.aupr_out);
    EXPECT_NEAR(oo.fpr95, level95(c["fpr_ood_positive"])["fpr"].get<double>(), kTol);
    EXPECT_NEAR(oo.threshold, level95(c["fpr_ood_positive"])["threshold"].get<double>(), kTol);
  }
}

const json& golden_case(const std::string& name) {
  for (const json& c : golden()["ood_cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no golden case " + name);
}

// 50 ID scores 50..1; recall 47/50 and 48/50 are equally far from 0.95 in double arithmetic.
// The rule takes the higher recall, and among the recall-0.96 points the one with more FPs
// (the OOD at 2.5): fpr = 6/7, threshold 2.5. Picking the lower recall would give 5/7.
TEST(OodMetricsFprNearest, EquidistantRecallTieGoesToHigherRecall) {
  ASSERT_EQ(std::fabs(47.0 / 50.0 - 0.95), std::fabs(48.0 / 50.0 - 0.95));
  const json& c = golden_case("equidistant_recall_50");
  const auto r = edge::metrics::fpr_at_recall_nearest(doubles(c["id"]), doubles(c["ood"]));
  EXPECT_DOUBLE_EQ(r.fpr, 6.0 / 7.0);
  EXPECT_DOUBLE_EQ(r.threshold, 2.5);
}

// Recall exactly 0.95 (19/20) is followed by an OOD-only plateau; the rule takes the plateau's
// last point (lowest score, most false positives) before the 20th ID sample.
TEST(OodMetricsFprNearest, EqualRecallPlateauTakesMostFalsePositives) {
  std::vector<double> id;
  for (int k = 20; k >= 1; --k) id.push_back(k);
  const std::vector<double> ood = {1.9, 1.8, 1.7, 1.6, 0.5, 15.5};
  const auto r = edge::metrics::fpr_at_recall_nearest(id, ood);
  EXPECT_DOUBLE_EQ(r.fpr, 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(r.threshold, 1.6);
}

TEST(OodMetricsFprNearest, HandComputedSmallCase) {
  // ID 0.9 0.8 0.7 0.3 | OOD 0.6 0.4 0.2 0.1 0.05. Recall 0.75 (dist 0.2) vs 1.0 (dist 0.05)
  // -> full recall at 0.3 with two OOD above it (0.6, 0.4): fpr 2/5.
  const auto r = edge::metrics::fpr_at_recall_nearest({0.9, 0.8, 0.7, 0.3},
                                                      {0.6, 0.4, 0.2, 0.1, 0.05});
  EXPECT_DOUBLE_EQ(r.fpr, 0.4);
  EXPECT_DOUBLE_EQ(r.threshold, 0.3);
  EXPECT_DOUBLE_EQ(edge::metrics::auroc({0.9, 0.8, 0.7, 0.3}, {0.6, 0.4, 0.2, 0.1, 0.05}),
                   18.0 / 20.0);
}

// Every score holds one ID and one OOD sample: sklearn's drop_intermediate keeps only the end
// points of the (straight) ROC curve, so OpenOOD's rule lands at TPR 1 / FPR 1, whereas the
// full curve has the point TPR 0.95 / FPR 0.95.
TEST(OodMetricsFprOodPositive, DropIntermediateLikeSklearn) {
  std::vector<double> v;
  for (int k = 0; k < 20; ++k) v.push_back(k);
  const auto dropped = edge::metrics::fpr_at_tpr_ood_positive(v, v, 0.95, true);
  EXPECT_DOUBLE_EQ(dropped.fpr, 1.0);
  EXPECT_DOUBLE_EQ(dropped.threshold, 19.0);
  const auto all = edge::metrics::fpr_at_tpr_ood_positive(v, v, 0.95, false);
  EXPECT_DOUBLE_EQ(all.fpr, 0.95);
  EXPECT_DOUBLE_EQ(all.threshold, 18.0);
}

TEST(OodMetricsProperties, PerfectAndReversedSeparation) {
  const std::vector<double> hi = {3.0, 4.0, 5.0};
  const std::vector<double> lo = {-1.0, 0.0, 1.0, 2.0};
  const auto good = edge::metrics::compute_ood_metrics(hi, lo);
  EXPECT_DOUBLE_EQ(good.auroc, 1.0);
  EXPECT_DOUBLE_EQ(good.aupr_in, 1.0);
  EXPECT_DOUBLE_EQ(good.aupr_out, 1.0);
  EXPECT_DOUBLE_EQ(good.fpr95, 0.0);
  EXPECT_DOUBLE_EQ(good.threshold, 3.0);
  const auto bad = edge::metrics::compute_ood_metrics(lo, hi);
  EXPECT_DOUBLE_EQ(bad.auroc, 0.0);
  EXPECT_DOUBLE_EQ(bad.fpr95, 1.0);
}

TEST(OodMetricsProperties, SymmetriesAndOrderInvariance) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<double> id(257), ood(311);
  for (double& x : id) x = std::round((nd(rng) + 0.7) * 10.0) / 10.0;  // ties
  for (double& x : ood) x = std::round(nd(rng) * 10.0) / 10.0;
  const auto m = edge::metrics::compute_ood_metrics(id, ood);

  // Swapping the roles and negating the scores exchanges AUPR-In and AUPR-Out.
  std::vector<double> nid(ood.size()), nood(id.size());
  std::transform(ood.begin(), ood.end(), nid.begin(), [](double x) { return -x; });
  std::transform(id.begin(), id.end(), nood.begin(), [](double x) { return -x; });
  EXPECT_NEAR(edge::metrics::aupr_in(nid, nood), m.aupr_out, 1e-12);
  EXPECT_NEAR(edge::metrics::aupr_out(nid, nood), m.aupr_in, 1e-12);
  EXPECT_NEAR(edge::metrics::auroc(nid, nood), m.auroc, 1e-12);
  // Swapping the roles alone mirrors the AUROC (ties count one half on both sides).
  EXPECT_NEAR(edge::metrics::auroc(ood, id), 1.0 - m.auroc, 1e-12);

  // Input order does not matter.
  std::shuffle(id.begin(), id.end(), rng);
  std::shuffle(ood.begin(), ood.end(), rng);
  const auto s = edge::metrics::compute_ood_metrics(id, ood);
  EXPECT_EQ(s.auroc, m.auroc);
  EXPECT_EQ(s.aupr_in, m.aupr_in);
  EXPECT_EQ(s.aupr_out, m.aupr_out);
  EXPECT_EQ(s.fpr95, m.fpr95);
  EXPECT_EQ(s.threshold, m.threshold);

  // The pointer + size view gives the same answers as the vector overloads.
  const edge::metrics::ScoreView vid(id.data(), id.size()), vood(ood.data(), ood.size());
  const auto v = edge::metrics::compute_ood_metrics(vid, vood, FprConvention::OodPositive);
  const auto w = edge::metrics::compute_ood_metrics(id, ood, FprConvention::OodPositive);
  EXPECT_EQ(v.auroc, w.auroc);
  EXPECT_EQ(v.fpr95, w.fpr95);
  EXPECT_EQ(v.threshold, w.threshold);
}

// Half a million integer scores: AUROC checked against an independent histogram count
// (Mann-Whitney U with ties counting one half).
TEST(OodMetricsProperties, LargeInputMatchesHistogramAuroc) {
  constexpr int kLevels = 1000;
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int> a(0, kLevels - 1), b(0, kLevels - 1);
  std::vector<double> id(250000), ood(260000);
  std::vector<std::uint64_t> hid(kLevels, 0), hood(kLevels, 0);
  for (double& x : id) {
    const int k = std::max(a(rng), a(rng));  // skewed upwards
    x = k;
    ++hid[k];
  }
  for (double& x : ood) {
    const int k = b(rng);
    x = k;
    ++hood[k];
  }
  // U = sum over ID of (#OOD below + 0.5 * #OOD equal).
  long double u = 0.0L;
  std::uint64_t below = 0;
  for (int k = 0; k < kLevels; ++k) {
    u += static_cast<long double>(hid[k]) * (below + 0.5L * hood[k]);
    below += hood[k];
  }
  const double expected = static_cast<double>(u / (static_cast<long double>(id.size()) * ood.size()));
  const auto m = edge::metrics::compute_ood_metrics(id, ood);
  EXPECT_NEAR(m.auroc, expected, 1e-12);
  EXPECT_GT(m.aupr_in, 0.5);
  EXPECT_GT(m.fpr95, 0.0);
  EXPECT_LT(m.fpr95, 1.0);
}

TEST(OodMetricsErrors, EmptyInputsThrow) {
  const std::vector<double> some = {0.1, 0.2};
  const std::vector<double> none;
  EXPECT_THROW(edge::metrics::auroc(none, some), std::invalid_argument);
  EXPECT_THROW(edge::metrics::auroc(some, none), std::invalid_argument);
  EXPECT_THROW(edge::metrics::aupr_in(none, some), std::invalid_argument);
  EXPECT_THROW(edge::metrics::aupr_out(some, none), std::invalid_argument);
  EXPECT_THROW(edge::metrics::fpr_at_recall_nearest(none, some), std::invalid_argument);
  EXPECT_THROW(edge::metrics::fpr_at_tpr_ood_positive(some, none), std::invalid_argument);
  EXPECT_THROW(edge::metrics::compute_ood_metrics(none, none), std::invalid_argument);
  try {
    edge::metrics::compute_ood_metrics(none, some);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
}

TEST(OodMetricsErrors, NonFiniteScoresThrow) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> ok = {0.1, 0.2};
  EXPECT_THROW(edge::metrics::auroc({0.3, nan}, ok), std::invalid_argument);
  EXPECT_THROW(edge::metrics::aupr_in(ok, {nan}), std::invalid_argument);
  EXPECT_THROW(edge::metrics::compute_ood_metrics(ok, {0.0, -inf}), std::invalid_argument);
  EXPECT_THROW(edge::metrics::fpr_at_recall_nearest({inf}, ok), std::invalid_argument);
  try {
    edge::metrics::compute_ood_metrics(ok, {0.0, nan});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << e.what();
  }
}

TEST(OodMetricsErrors, LevelOutsideUnitIntervalThrows) {
  const std::vector<double> id = {0.9}, ood = {0.1};
  EXPECT_THROW(edge::metrics::fpr_at_recall_nearest(id, ood, 0.0), std::invalid_argument);
  EXPECT_THROW(edge::metrics::fpr_at_recall_nearest(id, ood, 1.5), std::invalid_argument);
  EXPECT_THROW(edge::metrics::fpr_at_tpr_ood_positive(id, ood, -0.1), std::invalid_argument);
  EXPECT_THROW(edge::metrics::fpr_at_tpr_ood_positive(id, ood, std::nan("")),
               std::invalid_argument);
}

TEST(OodMetricsConvention, ToStringNamesTheRule) {
  const std::string a = edge::metrics::to_string(FprConvention::IdPositiveNearest);
  const std::string b = edge::metrics::to_string(FprConvention::OodPositive);
  EXPECT_NE(a, b);
  EXPECT_NE(a.find("ID positive"), std::string::npos) << a;
  EXPECT_NE(a.find("EDGE"), std::string::npos) << a;
  EXPECT_NE(b.find("OOD positive"), std::string::npos) << b;
  EXPECT_NE(b.find("OpenOOD"), std::string::npos) << b;
}

std::string py_list(const std::vector<double>& v) {
  std::ostringstream os;
  os.precision(17);
  os << "[";
  for (std::size_t k = 0; k < v.size(); ++k) os << (k ? "," : "") << v[k];
  os << "]";
  return os.str();
}

json parse_marked(const std::string& out, const std::string& marker) {
  const auto pos = out.rfind(marker);
  if (pos == std::string::npos) throw std::runtime_error("no result in python output:\n" + out);
  const auto end = out.find('\n', pos);
  return json::parse(out.substr(pos + marker.size(), end - pos - marker.size()));
}

// A fresh random case (new seed every run) through scikit-learn.
TEST(OodMetricsLive, FreshRandomCaseMatchesSklearn) {
  if (!edge::test::python_has_modules("sklearn,numpy")) {
    GTEST_SKIP() << "Debian python3 with numpy + scikit-learn not available";
  }
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::uniform_int_distribution<int> n_id(1, 400), n_ood(1, 400), coin(0, 1);
  std::vector<double> id(n_id(rng)), ood(n_ood(rng));
  const bool ties = coin(rng) == 1;
  for (double& x : id) x = nd(rng) + 0.8;
  for (double& x : ood) x = nd(rng);
  if (ties) {
    for (double& x : id) x = std::round(x * 4.0) / 4.0;
    for (double& x : ood) x = std::round(x * 4.0) / 4.0;
  }
  std::string script =
      "import json, sys\n"
      "import numpy as np\n"
      "from sklearn.metrics import roc_auc_score, average_precision_score, roc_curve\n"
      "i = np.array(" + py_list(id) + ", dtype=np.float64)\n"
      "o = np.array(" + py_list(ood) + ", dtype=np.float64)\n"
      "s = np.concatenate([i, o]); y = np.r_[np.ones(len(i)), np.zeros(len(o))]\n"
      "res = {'auroc': roc_auc_score(y, s), 'aupr_in': average_precision_score(y, s),\n"
      "       'aupr_out': average_precision_score(1 - y, -s)}\n"
      "for drop in (True, False):\n"
      "    fpr, tpr, thr = roc_curve(1 - y, -s, drop_intermediate=drop)\n"
      "    k = int(np.argmax(tpr >= 0.95))\n"
      "    res['ood_pos_%d' % drop] = [float(fpr[k]), float(-thr[k])]\n";
#ifdef EDGE_SOURCE_DIR
  // Also cross-check the independent numpy implementation of the reference rule.
  script += "sys.path.insert(0, '" + std::string(EDGE_SOURCE_DIR) + "/scripts')\n"
            "from make_metric_goldens import nearest_rule\n"
            "r = nearest_rule(i, o, 0.95); res['nearest'] = [r['fpr'], r['threshold']]\n";
#endif
  script += "print('EDGE_JSON ' + json.dumps({k: (float(v) if not isinstance(v, list) else v)"
            " for k, v in res.items()}))\n";
  const json r = parse_marked(edge::test::run_python(script), "EDGE_JSON ");

  const auto m = edge::metrics::compute_ood_metrics(id, ood);
  EXPECT_NEAR(m.auroc, r["auroc"].get<double>(), kTol);
  EXPECT_NEAR(m.aupr_in, r["aupr_in"].get<double>(), kTol);
  EXPECT_NEAR(m.aupr_out, r["aupr_out"].get<double>(), kTol);
  for (const bool drop : {true, false}) {
    const json& p = r[drop ? "ood_pos_1" : "ood_pos_0"];
    const auto f = edge::metrics::fpr_at_tpr_ood_positive(id, ood, 0.95, drop);
    EXPECT_NEAR(f.fpr, p[0].get<double>(), kTol) << "drop_intermediate=" << drop;
    EXPECT_NEAR(f.threshold, p[1].get<double>(), kTol) << "drop_intermediate=" << drop;
  }
#ifdef EDGE_SOURCE_DIR
  ASSERT_TRUE(r.contains("nearest"));
  EXPECT_NEAR(m.fpr95, r["nearest"][0].get<double>(), kTol);
  EXPECT_NEAR(m.threshold, r["nearest"][1].get<double>(), kTol);
#endif
}

}  // namespace
