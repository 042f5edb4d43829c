// The fused relu(batch_norm(x) + residual) against LibTorch's own BatchNorm2d/BatchNorm1d +
// add + ReLU: forward values, the four gradients, the running statistics and the batch count.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "edge/model/batch_norm_relu.h"

namespace {

namespace nn = torch::nn;
using edge::model::batch_norm_relu;
using edge::model::batch_norm_relu_fusable;
using edge::model::fused_batch_norm_relu;

constexpr auto kCL = torch::MemoryFormat::ChannelsLast;

struct Outcome {
  torch::Tensor y, gx, gr, gw, gb, running_mean, running_var, batches;
};

// One forward + backward of `fn` on copies of x / residual, with a fixed upstream gradient.
template <typename Fn>
Outcome run(Fn fn, nn::BatchNorm2d bn, const torch::Tensor& x0, const torch::Tensor& r0, const torch::Tensor& gy) {
  torch::Tensor x = x0.detach().clone(at::MemoryFormat::Preserve).requires_grad_(true);
  torch::Tensor r = r0.defined() ? r0.detach().clone(at::MemoryFormat::Preserve).requires_grad_(true) : torch::Tensor();
  torch::Tensor y = fn(bn, x, r);
  y.backward(gy);
  return {y.detach(),
          x.grad(),
          r.defined() ? r.grad() : torch::Tensor(),
          bn->weight.grad().clone(),
          bn->bias.grad().clone(),
          bn->running_mean.clone(),
          bn->running_var.clone(),
          bn->num_batches_tracked.clone()};
}

torch::Tensor unfused(nn::BatchNorm2d& bn, const torch::Tensor& x, const torch::Tensor& r) {
  torch::Tensor out = bn->forward(x);
  if (r.defined()) out = out + r;
  return torch::relu(out);
}

torch::Tensor fused(nn::BatchNorm2d& bn, const torch::Tensor& x, const torch::Tensor& r) {
  EXPECT_TRUE(batch_norm_relu_fusable(*bn, x, r)) << "the test expects the fused path here";
  return batch_norm_relu(*bn, x, r);
}

nn::BatchNorm2d make_bn(int64_t c, c10::optional<double> momentum = 0.1) {
  torch::manual_seed(3);
  nn::BatchNorm2d bn(nn::BatchNorm2dOptions(c).momentum(momentum));
  torch::NoGradGuard g;
  bn->weight.uniform_(0.5, 1.5);
  bn->bias.uniform_(-0.5, 0.5);
  bn->running_mean.uniform_(-1, 1);
  bn->running_var.uniform_(0.5, 2);
  return bn;
}

// Two independent copies of the same module (same parameters and buffers).
std::pair<nn::BatchNorm2d, nn::BatchNorm2d> twin_bns(int64_t c, c10::optional<double> momentum = 0.1) {
  return {make_bn(c, momentum), make_bn(c, momentum)};
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, double rtol, double atol, const char* what) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const torch::Tensor fa = a.to(torch::kFloat64), fb = b.to(torch::kFloat64);
  const double err = (fa - fb).abs().sub(fb.abs().mul(rtol)).max().item<double>();
  EXPECT_LE(err, atol) << what << ": max |a-b| = " << (fa - fb).abs().max().item<double>();
}

void expect_same_outcome(const Outcome& f, const Outcome& u, double rtol, double atol) {
  expect_close(f.y, u.y, rtol, atol, "output");
  expect_close(f.gx, u.gx, rtol, atol, "grad x");
  expect_close(f.gr, u.gr, rtol, atol, "grad residual");
  expect_close(f.gw, u.gw, rtol, atol * 10, "grad weight");
  expect_close(f.gb, u.gb, rtol, atol * 10, "grad bias");
  expect_close(f.running_mean, u.running_mean, 1e-6, 1e-6, "running_mean");
  expect_close(f.running_var, u.running_var, 1e-6, 1e-6, "running_var");
  EXPECT_TRUE(torch::equal(f.batches, u.batches)) << "num_batches_tracked";
}

// Both builds of the kernels (AVX-512 where the CPU has it, and the portable one).
class BatchNormReLUKernels : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { edge::model::use_portable_batch_norm_relu_kernels(GetParam()); }
  void TearDown() override { edge::model::use_portable_batch_norm_relu_kernels(false); }
};
INSTANTIATE_TEST_SUITE_P(Isa, BatchNormReLUKernels, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "portable" : "best_for_this_cpu"; });

TEST_P(BatchNormReLUKernels, Fp32ChannelsLastMatchesLibTorchWithAndWithoutResidual) {
  // 6*7*5 = 210 rows: several 64-row blocks and a partial one; a mean far from 0 checks the
  // variance's numerical stability.
  torch::manual_seed(0);
  const torch::Tensor x = (torch::randn({6, 5, 7, 5}) * 2 + 7).contiguous(kCL);
  const torch::Tensor r = torch::randn({6, 5, 7, 5}).contiguous(kCL);
  const torch::Tensor gy = torch::randn({6, 5, 7, 5});
  for (const bool with_residual : {false, true}) {
    SCOPED_TRACE(with_residual ? "with residual" : "without residual");
    auto [a, b] = twin_bns(5);
    const torch::Tensor res = with_residual ? r : torch::Tensor();
    const Outcome f = run(fused, a, x, res, gy), u = run(unfused, b, x, res, gy);
    expect_same_outcome(f, u, 1e-5, 1e-5);
    EXPECT_TRUE(f.y.is_contiguous(kCL)) << "the output keeps the channels-last layout";
  }
}

TEST(BatchNormReLU, SecondBatchAndCumulativeMomentumFollowTheModule) {
  torch::manual_seed(1);
  auto [a, b] = twin_bns(8, c10::nullopt);  // momentum unset: running stats are a cumulative average
  for (int step = 0; step < 3; ++step) {
    const torch::Tensor x = torch::randn({4, 8, 6, 6}).contiguous(kCL), gy = torch::randn({4, 8, 6, 6});
    a->zero_grad();
    b->zero_grad();
    expect_same_outcome(run(fused, a, x, {}, gy), run(unfused, b, x, {}, gy), 1e-5, 1e-5);
  }
  EXPECT_EQ(a->num_batches_tracked.item<int64_t>(), 3);
}

TEST_P(BatchNormReLUKernels, Bf16IsTheFp32ResultRoundedOnce) {
  // The bf16 reference: LibTorch's fp32 computation on the same (bf16-representable) values;
  // the fused bf16 result may differ from it only by bf16 rounding of outputs and gradients.
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({8, 16, 10, 10}).to(torch::kBFloat16).contiguous(kCL);
  const torch::Tensor r = torch::randn({8, 16, 10, 10}).to(torch::kBFloat16).contiguous(kCL);
  const torch::Tensor gy = torch::randn({8, 16, 10, 10}).to(torch::kBFloat16);
  auto [a, b] = twin_bns(16);
  const Outcome f = run(fused, a, x, r, gy);
  const Outcome u = run(unfused, b, x.to(torch::kFloat32), r.to(torch::kFloat32), gy.to(torch::kFloat32));
  EXPECT_EQ(f.y.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(f.gx.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(f.gw.scalar_type(), torch::kFloat32) << "parameter gradients stay in the parameters' dtype";
  // bf16 keeps 8 significant bits: relative error <= 2^-8 per rounding; the mask can differ
  // only where the fp32 output is within one rounding of 0.
  expect_close(f.y, u.y, 1.0 / 128, 1e-2, "output");
  expect_close(f.gx, u.gx, 1.0 / 64, 2e-2, "grad x");
  expect_close(f.gr, u.gr, 1.0 / 128, 1e-2, "grad residual");
  expect_close(f.gw, u.gw, 1e-2, 0.5, "grad weight");
  expect_close(f.gb, u.gb, 1e-2, 0.5, "grad bias");
  expect_close(f.running_mean, u.running_mean, 1e-5, 1e-5, "running_mean");
  expect_close(f.running_var, u.running_var, 1e-5, 1e-5, "running_var");
}

TEST(BatchNormReLU, TwoDimensionalRowsMatchBatchNorm1d) {
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({130, 33}), gy = torch::randn({130, 33});
  nn::BatchNorm1d ref(33);
  torch::Tensor w = torch::rand({33}).add_(0.5).requires_grad_(true), b = torch::randn({33}).requires_grad_(true);
  {
    torch::NoGradGuard g;
    ref->weight.copy_(w);
    ref->bias.copy_(b);
  }
  torch::Tensor rm = torch::zeros({33}), rv = torch::ones({33});
  torch::Tensor xf = x.clone().requires_grad_(true), xu = x.clone().requires_grad_(true);
  torch::Tensor yf = fused_batch_norm_relu(xf, {}, w, b, rm, rv, 0.1, 1e-5);
  torch::Tensor yu = torch::relu(ref->forward(xu));
  yf.backward(gy);
  yu.backward(gy);
  expect_close(yf, yu, 1e-5, 1e-5, "output");
  expect_close(xf.grad(), xu.grad(), 1e-5, 1e-5, "grad x");
  expect_close(w.grad(), ref->weight.grad(), 1e-5, 1e-4, "grad weight");
  expect_close(b.grad(), ref->bias.grad(), 1e-5, 1e-4, "grad bias");
  expect_close(rm, ref->running_mean, 1e-6, 1e-6, "running_mean");
  expect_close(rv, ref->running_var, 1e-6, 1e-6, "running_var");
}

TEST(BatchNormReLU, ResultDoesNotDependOnTheThreadCount) {
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({16, 12, 9, 9}).contiguous(kCL), gy = torch::randn({16, 12, 9, 9});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto [a, b] = twin_bns(12);
  const Outcome one = run(fused, a, x, {}, gy);
  at::set_num_threads(std::max(threads, 2));
  const Outcome two = run(fused, b, x, {}, gy);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.y, two.y));
  EXPECT_TRUE(torch::equal(one.gx, two.gx));
  EXPECT_TRUE(torch::equal(one.gw, two.gw));
  EXPECT_TRUE(torch::equal(one.running_var, two.running_var));
}

TEST_P(BatchNormReLUKernels, NanPropagatesLikeTheUnfusedOperations) {
  torch::Tensor x = torch::randn({4, 3, 5, 5});
  x[1][2][3][4] = std::numeric_limits<float>::quiet_NaN();  // poisons channel 2's statistics
  x = x.contiguous(kCL);
  auto [a, b] = twin_bns(3);
  const torch::Tensor yf = fused(a, x, {}).detach(), yu = unfused(b, x, {}).detach();
  EXPECT_TRUE(torch::equal(yf.isnan(), yu.isnan()));
  EXPECT_TRUE(yf.select(1, 2).isnan().all().item<bool>()) << "NaN must not be hidden by the ReLU";
  EXPECT_FALSE(yf.select(1, 0).isnan().any().item<bool>());
}

TEST(BatchNormReLU, NchwEvalAndMismatchedResidualFallBackToLibTorchBitForBit) {
  torch::manual_seed(6);
  const torch::Tensor x = torch::randn({4, 6, 5, 5});  // NCHW: the reference path
  auto [a, b] = twin_bns(6);
  EXPECT_FALSE(batch_norm_relu_fusable(*a, x, {}));
  EXPECT_TRUE(torch::equal(batch_norm_relu(*a, x, x), unfused(b, x, x)));
  const torch::Tensor xcl = x.contiguous(kCL);
  EXPECT_TRUE(batch_norm_relu_fusable(*a, xcl, {}));
  EXPECT_FALSE(batch_norm_relu_fusable(*a, xcl, x)) << "residual in another layout";
  EXPECT_FALSE(batch_norm_relu_fusable(*a, xcl, xcl.to(torch::kBFloat16))) << "residual of another dtype";
  EXPECT_FALSE(batch_norm_relu_fusable(*a, xcl.to(torch::kFloat64), {})) << "only float and bfloat16";
  a->eval();
  b->eval();
  EXPECT_FALSE(batch_norm_relu_fusable(*a, xcl, {})) << "eval mode uses the running statistics";
  EXPECT_TRUE(torch::equal(batch_norm_relu(*a, xcl, {}), unfused(b, xcl, {})));
}

TEST(BatchNormReLU, PreconditionsNameWhatWasExpected) {
  const torch::Tensor w = torch::ones({4}), b = torch::zeros({4});
  auto message = [&](const torch::Tensor& x, const torch::Tensor& r, const torch::Tensor& weight) {
    try {
      fused_batch_norm_relu(x, r, weight, b, torch::zeros({4}), torch::ones({4}), 0.1, 1e-5);
    } catch (const c10::Error& e) {
      return std::string(e.what_without_backtrace());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(torch::randn({2, 4, 3, 3}), {}, w).find("channels-last"), std::string::npos);
  EXPECT_NE(message(torch::randn({1, 4}), {}, w).find("more than 1 value per channel"), std::string::npos);
  EXPECT_NE(message(torch::randn({5, 4}), torch::randn({5, 3}), w).find("residual"), std::string::npos);
  EXPECT_NE(message(torch::randn({5, 4}), {}, torch::ones({3})).find("[4]"), std::string::npos);
}

}  // namespace
