#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "edge/common/error.h"
#include "edge/score/gradnorm.h"
#include "edge/score/kl_cooccurrence.h"
#include "edge/score/ood_scores.h"
#include "edge/score/scorer.h"

namespace {

using edge::score::ScoreKind;

double softplus(double z) { return std::log1p(std::exp(z)); }

TEST(OodScores, HandComputedValues) {
  const auto z = torch::tensor({{0.0, 2.0, -1.0}, {-5.0, -3.0, 4.0}}, torch::kFloat64);
  const auto sum = edge::score::compute_score(ScoreKind::EnergySum, z);
  const auto mx = edge::score::compute_score(ScoreKind::EnergyMax, z);
  const auto ml = edge::score::compute_score(ScoreKind::MaxLogit, z);
  EXPECT_NEAR(sum[0].item<double>(), softplus(0) + softplus(2) + softplus(-1), 1e-12);
  EXPECT_NEAR(sum[1].item<double>(), softplus(-5) + softplus(-3) + softplus(4), 1e-12);
  EXPECT_NEAR(mx[0].item<double>(), softplus(2), 1e-12);
  EXPECT_NEAR(mx[1].item<double>(), softplus(4), 1e-12);
  EXPECT_DOUBLE_EQ(ml[0].item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(ml[1].item<double>(), 4.0);
}

TEST(OodScores, NoOverflowOnLargeLogits) {
  const auto z = torch::tensor({{200.f, -200.f}});
  EXPECT_NEAR(edge::score::compute_score(ScoreKind::EnergySum, z)[0].item<double>(), 200.0, 1e-9);
}

TEST(OodScores, ParsesNamesAndAliases) {
  EXPECT_EQ(edge::score::parse_score("energy"), ScoreKind::EnergySum);
  EXPECT_EQ(edge::score::parse_score("joint_energy"), ScoreKind::EnergySum);
  EXPECT_EQ(edge::score::parse_score("energy_max"), ScoreKind::EnergyMax);
  EXPECT_EQ(edge::score::parse_score("logit_max"), ScoreKind::MaxLogit);
  for (const auto& n : edge::score::score_names()) EXPECT_EQ(edge::score::score_name(edge::score::parse_score(n)), n);
  EXPECT_THROW(edge::score::parse_score("msp2"), edge::UsageError);
  EXPECT_EQ(edge::score::score_names().size(), 20u);
  EXPECT_EQ(edge::score::parse_score("M_max"), ScoreKind::MahalanobisMax);
  EXPECT_EQ(edge::score::parse_score("energyMC"), ScoreKind::EnergyMC);
}

TEST(OodScores, HandComputedLogitScores) {
  const auto z = torch::tensor({{0.0, 2.0, -1.0}}, torch::kFloat64);
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  const double e0 = std::exp(0.0), e2 = std::exp(2.0), em1 = std::exp(-1.0);
  auto at = [&](const std::string& n, edge::score::LogitScoreOptions o = {}) {
    return edge::score::compute_score(edge::score::parse_score(n), z, o)[0].item<double>();
  };
  EXPECT_NEAR(at("energy_topk", {2, 1.0}), softplus(2) + softplus(0), 1e-12);
  EXPECT_NEAR(at("energy_topk"), softplus(2), 1e-12);  // the reference's k = 1
  EXPECT_NEAR(at("logit_sum"), 1.0, 1e-12);
  EXPECT_NEAR(at("prob_max"), sig(2), 1e-12);
  EXPECT_NEAR(at("prob_sum"), sig(0) + sig(2) + sig(-1), 1e-12);
  EXPECT_NEAR(at("msp"), e2 / (e0 + e2 + em1), 1e-12);
  EXPECT_NEAR(at("energy_mc"), std::log(e0 + e2 + em1), 1e-12);
  EXPECT_NEAR(at("odin_max", {1, 4.0}), sig(0.5), 1e-12);
  EXPECT_NEAR(at("odin_sum", {1, 4.0}), sig(0) + sig(0.5) + sig(-0.25), 1e-12);
  EXPECT_THROW(at("energy_topk", {4, 1.0}), edge::UsageError);  // k > C
  EXPECT_THROW(at("knn"), edge::UsageError);                     // not a logit score
}

TEST(OodScores, GradNormEqualsAutogradOfTheReferenceLoss) {
  // The closed form against LibTorch autograd through a Linear layer, one sample at a time.
  torch::manual_seed(3);
  torch::nn::Linear lin(6, 4);
  lin->to(torch::kFloat64);
  const auto h = torch::rand({5, 6}, torch::kFloat64);
  for (const double t : {1.0, 3.0}) {
    const auto z = lin->forward(h).detach();
    const auto got = edge::score::gradnorm_score(h, z, t);
    for (int64_t i = 0; i < 5; ++i) {
      lin->zero_grad();
      const auto out = lin->forward(h.slice(0, i, i + 1)) / t;
      const auto loss = (-torch::log_softmax(out, -1)).sum(-1).mean();
      loss.backward();
      EXPECT_NEAR(got[i].item<double>(), lin->weight.grad().abs().sum().item<double>(), 1e-10) << "T=" << t;
    }
  }
}

TEST(OodScores, KlHandComputed) {
  // Two classes; labels {1,0},{1,1},{0,1},{1,0}: co-occurrence [[3,1],[1,2]] + 1 -> q0 = [4,2]/6, q1 = [2,3]/5.
  const auto y = torch::tensor({{1.0, 0.0}, {1.0, 1.0}, {0.0, 1.0}, {1.0, 0.0}}, torch::kFloat64);
  const auto t = edge::score::cooccurrence_templates(y, 1.0);
  const auto z = torch::tensor({{1.0, -1.0}}, torch::kFloat64);
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  const double p0 = sig(1) / (sig(1) + sig(-1)), p1 = 1 - p0;
  auto kl = [&](double q0, double q1) { return p0 * std::log(p0 / q0) + p1 * std::log(p1 / q1); };
  const double want = -std::min(kl(4.0 / 6, 2.0 / 6), kl(2.0 / 5, 3.0 / 5));
  EXPECT_NEAR(edge::score::kl_score(t, z)[0].item<double>(), want, 1e-12);
}

TEST(OodScores, ScorerNeedsAndFitChecks) {
  edge::score::ScoreOptions o;
  EXPECT_FALSE(edge::score::score_needs(ScoreKind::OdinMax, o).inputs);
  o.noise = 0.01;
  EXPECT_TRUE(edge::score::score_needs(ScoreKind::OdinMax, o).inputs);
  EXPECT_TRUE(edge::score::score_needs(ScoreKind::MahalanobisSum, o).inputs);
  EXPECT_TRUE(edge::score::score_needs(ScoreKind::Lof, o).val_logits);
  EXPECT_TRUE(edge::score::score_needs(ScoreKind::Knn, o).train_features);
  EXPECT_FALSE(edge::score::score_needs(ScoreKind::GradNorm, o).train_features);
  edge::score::Scorer knn(ScoreKind::Knn, {});
  edge::score::SetFeatures f{torch::rand({4, 3}), torch::rand({4, 5}), torch::rand({4, 2})};
  EXPECT_THROW(knn.score(f, {}), edge::UsageError);  // not fitted
  EXPECT_THROW(knn.fit({}, {}), edge::UsageError);   // no training features
  edge::score::ScoreOptions bad;
  bad.react_aggregate = "knn";
  EXPECT_THROW(edge::score::Scorer(ScoreKind::React, bad), edge::UsageError);
  edge::score::Scorer grad(ScoreKind::GradNorm, {});
  EXPECT_EQ(grad.score(f, {}).size(0), 4);  // needs no fitting
}

TEST(OodScores, RejectsWrongShape) {
  EXPECT_THROW(edge::score::compute_score(ScoreKind::EnergySum, torch::zeros({3})), c10::Error);
}

}  // namespace
