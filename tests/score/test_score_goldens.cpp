// Every OOD score against goldens from numpy / scikit-learn / torch
// (tests/fixtures/score_golden.json, made by scripts/make_score_goldens.py).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/atomic_file.h"
#include "edge/score/gradnorm.h"
#include "edge/score/input_perturbation.h"
#include "edge/score/isolation_forest.h"
#include "edge/score/kl_cooccurrence.h"
#include "edge/score/mahalanobis.h"
#include "edge/score/neighbors.h"
#include "edge/score/ood_scores.h"
#include "edge/score/react.h"
#include "edge/score/vim.h"
#include "support/test_support.h"

namespace {

using nlohmann::json;
namespace sc = edge::score;

const json& golden() {
  static const json j = json::parse(edge::read_text_file(edge::test::fixtures_dir() / "score_golden.json"));
  return j;
}

// A nested JSON list of numbers -> float64 tensor of the same shape.
torch::Tensor T(const json& j) {
  std::vector<int64_t> shape;
  const json* p = &j;
  while (p->is_array()) {
    shape.push_back(int64_t(p->size()));
    if (p->empty()) break;
    p = &(*p)[0];
  }
  std::vector<double> flat;
  std::function<void(const json&)> walk = [&](const json& x) {
    if (x.is_array())
      for (const auto& e : x) walk(e);
    else
      flat.push_back(x.get<double>());
  };
  walk(j);
  return torch::tensor(flat, torch::kFloat64).view(shape);
}

void expect_close(const torch::Tensor& got, const json& want, double tol, const std::string& what) {
  const torch::Tensor w = T(want);
  ASSERT_EQ(got.sizes(), w.sizes()) << what;
  const double err = (got.to(torch::kFloat64) - w).abs().max().item<double>();
  const double scale = std::max(1.0, w.abs().max().item<double>());
  EXPECT_LE(err, tol * scale) << what << ": max abs error " << err;
  if (std::getenv("EDGE_PRINT_AGREEMENT")) std::printf("agreement %s: max abs error %.3g (scale %.3g)\n", what.c_str(), err, scale);
}

TEST(ScoreGoldens, LogitScoresMatchNumpyAndTorch) {
  const json& g = golden()["logit"];
  const torch::Tensor z = T(g["logits"]);
  const sc::LogitScoreOptions o{g["topk"].get<int64_t>(), g["temperature"].get<double>()};
  for (const std::string name : {"energy_sum", "energy_max", "energy_topk", "max_logit", "logit_sum", "prob_max",
                                 "prob_sum", "msp", "energy_mc", "odin_max", "odin_sum"})
    expect_close(sc::compute_score(sc::parse_score(name), z, o), g[name], 1e-12, name);
}

TEST(ScoreGoldens, MahalanobisMatchesSklearnEmpiricalCovariance) {
  const json& g = golden()["mahalanobis"];
  const auto fit = sc::fit_tied_gaussian(T(g["train_features"]), T(g["train_labels"]));
  expect_close(fit.means, g["means"], 1e-12, "class means");
  expect_close(fit.precision, g["precision"], 1e-9, "precision");
  expect_close(sc::mahalanobis_score(fit, T(g["features"]), sc::Reduction::Max), g["max"], 1e-9, "max");
  expect_close(sc::mahalanobis_score(fit, T(g["features"]), sc::Reduction::Sum), g["sum"], 1e-9, "sum");
  EXPECT_EQ(fit.dropped_eigenvalues, 0);
}

TEST(ScoreGoldens, MahalanobisPseudoInverseOnSingularCovariance) {
  const json& g = golden()["mahalanobis"];
  const json& s = g["singular"];
  const auto fit = sc::fit_tied_gaussian(T(s["train_features"]), T(g["train_labels"]));
  EXPECT_EQ(fit.dropped_eigenvalues, 1);  // the duplicated column
  EXPECT_TRUE(torch::isfinite(fit.precision).all().item<bool>());
  expect_close(sc::mahalanobis_score(fit, T(s["features"]), sc::Reduction::Max), s["max"], 1e-7, "max (pinvh)");
  expect_close(sc::mahalanobis_score(fit, T(s["features"]), sc::Reduction::Sum), s["sum"], 1e-7, "sum (pinvh)");
}

TEST(ScoreGoldens, LocalOutlierFactorMatchesSklearn) {
  const json& g = golden()["lof"];
  for (const int64_t k : {20, 7, 500}) {  // 500 > n: capped at n - 1 as sklearn does
    sc::LocalOutlierFactor lof(k);
    lof.fit(T(g["val"]));
    expect_close(lof.score_samples(T(g["test"])), g["score_k" + std::to_string(k)], 1e-10, "lof k=" + std::to_string(k));
  }
}

TEST(ScoreGoldens, KnnMatchesSklearnNearestNeighbors) {
  const json& g = golden()["knn"];
  expect_close(sc::knn_score(T(g["train"]), T(g["test"]), g["k"].get<int64_t>()), g["score"], 1e-10, "knn");
}

TEST(ScoreGoldens, VimMatchesReferenceCode) {
  const json& g = golden()["vim"];
  const auto fit = sc::fit_vim(T(g["train_hidden"]), T(g["weight"]), T(g["bias"]), g["dim"].get<int64_t>());
  EXPECT_NEAR(fit.alpha, g["alpha"].get<double>(), 1e-9 * std::abs(g["alpha"].get<double>()));
  expect_close(sc::vim_score(fit, T(g["hidden"])), g["score"], 1e-9, "vim");
}

TEST(ScoreGoldens, GradNormMatchesTorchAutogradPerSample) {
  const json& g = golden()["gradnorm"];
  const torch::Tensor h = T(g["hidden"]);
  const torch::Tensor z = h.matmul(T(g["weight"]).t()) + T(g["bias"]);
  expect_close(sc::gradnorm_score(h, z, 1.0), g["score_T1"], 1e-10, "gradnorm T=1");
  expect_close(sc::gradnorm_score(h, z, 2.0), g["score_T2"], 1e-10, "gradnorm T=2");
}

TEST(ScoreGoldens, KlMatchesNumpy) {
  const json& g = golden()["kl"];
  const auto t = sc::cooccurrence_templates(T(g["train_labels"]), g["smoothing"].get<double>());
  EXPECT_EQ(t.classes.numel(), 3);  // class 3 has no training positive: no template
  expect_close(sc::kl_score(t, T(g["logits"])), g["score"], 1e-10, "kl");
}

TEST(ScoreGoldens, ReactPercentileAndClippedHead) {
  const json& g = golden()["react"];
  const torch::Tensor train = T(g["train_pooled"]);
  for (const auto& [q, want] : g["percentiles"].items())
    EXPECT_NEAR(sc::percentile(train, std::stod(q)), want.get<double>(), 1e-12) << "percentile " << q;
  const torch::Tensor w = T(g["weight"]), b = T(g["bias"]);
  const auto head = [&](const torch::Tensor& p) { return p.matmul(w.t()) + b; };
  const torch::Tensor logits = sc::react_logits(head, T(g["pooled"]), sc::percentile(train, 90.0));
  expect_close(sc::compute_score(sc::ScoreKind::EnergyMC, logits), g["score"], 1e-12, "react");
}

std::vector<double> std_of(const json& j) { return j.get<std::vector<double>>(); }

TEST(ScoreGoldens, OdinWithInputNoiseMatchesReference) {
  const json& g = golden()["odin"];
  const torch::Tensor w = T(g["weight"]), b = T(g["bias"]);
  const auto net = [&](const torch::Tensor& x) { return x.flatten(1).matmul(w.t()) + b; };
  for (const auto& [m, red] : {std::pair{"max", sc::Reduction::Max}, std::pair{"sum", sc::Reduction::Sum}})
  {
    expect_close(sc::odin_scores(net, T(g["x"]), g["temperature"].get<double>(), g["noise"].get<double>(),
                                 std_of(g["std"]), red),
                 g[m], 1e-12, std::string("odin ") + m);
    // The perturbation matters: without it the scores differ from the golden.
    const auto plain = sc::odin_scores(net, T(g["x"]), g["temperature"].get<double>(), 0.0, std_of(g["std"]), red);
    EXPECT_GT((plain - T(g[m])).abs().max().item<double>(), 1e-3);
  }
}

TEST(ScoreGoldens, MahalanobisWithInputNoiseMatchesReference) {
  const json& g = golden()["mahalanobis_noise"];
  const torch::Tensor a = T(g["feature_weight"]);
  const auto feat = [&](const torch::Tensor& x) { return x.flatten(1).matmul(a.t()); };
  const auto fit = sc::fit_tied_gaussian(T(g["train_features"]), T(g["train_labels"]));
  for (const auto& [m, red] : {std::pair{"max", sc::Reduction::Max}, std::pair{"sum", sc::Reduction::Sum}})
    expect_close(sc::mahalanobis_perturbed_scores(feat, T(g["x"]), fit, g["noise"].get<double>(), std_of(g["std"]), red),
                 g[m], 1e-9, std::string("mahalanobis noise ") + m);
}

TEST(ScoreGoldens, IsolationForestPathLengthNormalisationIsExact) {
  const json& g = golden()["isol"];
  const auto ns = g["c_n"].get<std::vector<int64_t>>();
  const auto cs = g["c"].get<std::vector<double>>();
  for (size_t i = 0; i < ns.size(); ++i) EXPECT_NEAR(sc::average_path_length(ns[i]), cs[i], 1e-12) << "n=" << ns[i];
}

}  // namespace
