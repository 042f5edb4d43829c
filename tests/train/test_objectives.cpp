// The baseline training objectives against PyTorch goldens (scripts/make_loss_goldens.py).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "edge/train/objectives.h"
#include "support/test_support.h"

namespace {

using edge::train::Mode;

torch::Tensor matrix(const nlohmann::json& rows) {
  std::vector<torch::Tensor> out;
  for (const auto& r : rows) out.push_back(torch::tensor(r.get<std::vector<double>>(), torch::kFloat64));
  return torch::stack(out);
}

TEST(Objectives, BaselineModesMatchPyTorch) {
  const auto g = nlohmann::json::parse(edge::read_text_file(edge::test::fixtures_dir() / "edge_loss_golden.json"));
  ASSERT_EQ(g["modes"].size(), 5u);
  for (const auto& c : g["modes"]) {
    const std::string name = c["mode"];
    SCOPED_TRACE(name);
    auto z_in = matrix(c["logits_in"]).requires_grad_(true);
    auto z_oe = matrix(c["logits_oe"]).requires_grad_(true);
    const auto t = edge::train::compute_objective(edge::train::parse_mode(name), z_in, matrix(c["targets"]), z_oe,
                                                  edge::train::ObjectiveParams{});
    EXPECT_NEAR(t.total.item<double>(), c["total"].get<double>(), 1e-10);
    ASSERT_EQ(t.parts.size(), c["parts"].size());
    for (const auto& [part, value] : c["parts"].items())
      EXPECT_NEAR(t.part(part).item<double>(), value.get<double>(), 1e-10) << part;
    t.total.backward();
    EXPECT_LE((z_in.grad() - matrix(c["grad_in"])).abs().max().item<double>(), 1e-10);
    EXPECT_LE((z_oe.grad() - matrix(c["grad_oe"])).abs().max().item<double>(), 1e-10);
  }
}

TEST(Objectives, NormalIsBceAndNeedsNoOutliers) {
  const auto z = torch::tensor({{1.0, -1.0}}, torch::kFloat64);
  const auto y = torch::tensor({{1.0, 0.0}}, torch::kFloat64);
  const auto t = edge::train::compute_objective(Mode::Normal, z, y, {}, {});
  EXPECT_NEAR(t.total.item<double>(), std::log1p(std::exp(-1.0)), 1e-12);
  EXPECT_FALSE(edge::train::uses_outliers(Mode::Normal));
  EXPECT_TRUE(edge::train::uses_outliers(Mode::Joint));
  EXPECT_THROW(edge::train::compute_objective(Mode::OEML, z, y, {}, {}), c10::Error);
}

TEST(Objectives, ModeNamesRoundTripAndUnknownIsAUsageError) {
  for (const auto& n : edge::train::mode_names()) EXPECT_EQ(edge::train::mode_name(edge::train::parse_mode(n)), n);
  EXPECT_EQ(edge::train::mode_names().size(), 7u);
  try {
    edge::train::parse_mode("ATOM");
    FAIL();
  } catch (const edge::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--score"), std::string::npos);
  }
}

}  // namespace
