#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "edge/common/error.h"
#include "edge/score/ood_scores.h"

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
}

TEST(OodScores, RejectsWrongShape) {
  EXPECT_THROW(edge::score::compute_score(ScoreKind::EnergySum, torch::zeros({3})), c10::Error);
}

}  // namespace
