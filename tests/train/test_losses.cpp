// EDGE loss: values and gradients against PyTorch goldens (scripts/make_loss_goldens.py),
// a live PyTorch comparison when Debian's python3-torch is present, and finite differences.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "edge/train/losses.h"
#include "support/test_support.h"

namespace {

using edge::train::EdgeLossParams;
using edge::train::edge_loss;

torch::Tensor matrix(const nlohmann::json& rows) {
  std::vector<torch::Tensor> out;
  for (const auto& r : rows) out.push_back(torch::tensor(r.get<std::vector<double>>(), torch::kFloat64));
  return torch::stack(out);
}

nlohmann::json goldens() {
  return nlohmann::json::parse(edge::read_text_file(edge::test::fixtures_dir() / "edge_loss_golden.json"));
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double diff = (a - b).abs().max().item<double>();
  EXPECT_LE(diff, tol) << what << ": max |diff| " << diff;
}

void check_case(const nlohmann::json& c) {
  SCOPED_TRACE(c["name"].get<std::string>());
  auto z_in = matrix(c["logits_in"]).requires_grad_(true);
  auto z_oe = matrix(c["logits_oe"]).requires_grad_(true);
  const auto y = matrix(c["targets"]);
  const EdgeLossParams p{c["alpha"], c["beta"], c["k"], c["m"]};
  const auto t = edge_loss(z_in, y, z_oe, p);
  EXPECT_NEAR(t.part("bce").item<double>(), c["bce"].get<double>(), 1e-12);
  EXPECT_NEAR(t.part("conf").item<double>(), c["conf"].get<double>(), 1e-12);
  EXPECT_NEAR(t.part("gap").item<double>(), c["gap"].get<double>(), 1e-12);
  EXPECT_NEAR(t.total.item<double>(), c["total"].get<double>(), 1e-12);
  t.total.backward();
  expect_close(z_in.grad(), matrix(c["grad_in"]), 1e-12, "grad wrt ID logits");
  expect_close(z_oe.grad(), matrix(c["grad_oe"]), 1e-12, "grad wrt OE logits");
}

TEST(EdgeLoss, MatchesFrozenPyTorchGoldens) {
  const auto g = goldens();
  ASSERT_GE(g["cases"].size(), 4u);
  for (const auto& c : g["cases"]) check_case(c);
}

TEST(EdgeLoss, MatchesLivePyTorch) {
  if (!edge::test::python_has_modules("torch")) GTEST_SKIP() << "Debian python3-torch not installed";
  const std::string out = edge::test::run_python(
      "import runpy, sys, io\n"
      "sys.argv=['x']\n"
      "buf = io.StringIO(); old = sys.stdout; sys.stdout = buf\n"
      "runpy.run_path('" EDGE_SOURCE_DIR "/scripts/make_loss_goldens.py', run_name='__main__')\n"
      "sys.stdout = old; print(buf.getvalue())\n");
  const auto live = nlohmann::json::parse(out);
  for (const auto& c : live["cases"]) check_case(c);
}

TEST(EdgeLoss, GradientsMatchFiniteDifferences) {
  torch::manual_seed(3);
  const auto z_in0 = torch::randn({6, 4}, torch::kFloat64) * 2;
  const auto z_oe0 = torch::randn({5, 4}, torch::kFloat64) * 2;
  const auto y = (torch::rand({6, 4}, torch::kFloat64) < 0.4).to(torch::kFloat64);
  const EdgeLossParams p{0.7, 0.5, 3, 0.5};
  auto z_in = z_in0.clone().requires_grad_(true);
  auto z_oe = z_oe0.clone().requires_grad_(true);
  edge_loss(z_in, y, z_oe, p).total.backward();
  auto loss_at = [&](const torch::Tensor& a, const torch::Tensor& b) {
    return edge_loss(a, y, b, p).total.item<double>();
  };
  const double h = 1e-6;
  for (int which = 0; which < 2; ++which) {
    const auto& base = which == 0 ? z_in0 : z_oe0;
    const auto& grad = which == 0 ? z_in.grad() : z_oe.grad();
    for (int64_t i = 0; i < base.numel(); ++i) {
      auto plus = base.clone(), minus = base.clone();
      plus.view(-1)[i] += h;
      minus.view(-1)[i] -= h;
      const double fd = which == 0 ? (loss_at(plus, z_oe0) - loss_at(minus, z_oe0)) / (2 * h)
                                   : (loss_at(z_in0, plus) - loss_at(z_in0, minus)) / (2 * h);
      EXPECT_NEAR(grad.view(-1)[i].item<double>(), fd, 1e-7) << (which == 0 ? "ID" : "OE") << " logit " << i;
    }
  }
}

TEST(EdgeLoss, KLargerThanIdBatchIsAClearError) {
  const auto z = torch::zeros({4, 3});
  try {
    edge_loss(z, torch::zeros({4, 3}), torch::zeros({2, 3}), EdgeLossParams{1, 0.1, 5, 1});
    FAIL() << "expected UsageError";
  } catch (const edge::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--k"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("4"), std::string::npos) << e.what();
  }
}

TEST(EdgeLoss, LargeLogitsStayFinite) {
  // softplus, not log(1 + exp(z)): z = 100 must not overflow in float32.
  const auto z_in = torch::full({4, 3}, 100.f).requires_grad_(true);
  const auto z_oe = torch::full({4, 3}, 90.f).requires_grad_(true);
  const auto t = edge_loss(z_in, torch::ones({4, 3}), z_oe, EdgeLossParams{1, 1, 2, 1});
  EXPECT_TRUE(std::isfinite(t.total.item<double>()));
  EXPECT_NEAR(t.part("conf").item<double>(), 90.0, 1e-4);
  t.total.backward();
  EXPECT_TRUE(torch::isfinite(z_in.grad()).all().item<bool>());
}

TEST(EdgeLoss, JointEnergyIsSumOfSoftplus) {
  const auto z = torch::tensor({{0.0, 1.0}, {-2.0, 3.0}}, torch::kFloat64);
  const auto e = edge::train::joint_energy(z);
  EXPECT_NEAR(e[0].item<double>(), std::log(2.0) + std::log1p(std::exp(1.0)), 1e-12);
  EXPECT_NEAR(e[1].item<double>(), std::log1p(std::exp(-2.0)) + std::log1p(std::exp(3.0)), 1e-12);
}

}  // namespace
