// The strided convolution with an im2col + GEMM weight gradient against LibTorch's own
// convolution: output and input gradient (the same kernels), weight gradient (fp32: LibTorch's
// result; bf16: the exact sum, computed in float64, rounded once), the module dispatch under
// autocast, where it applies, and its preconditions.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/ops/convolution_backward.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "edge/model/compute_mode.h"
#include "edge/model/gemm_weight_grad_conv.h"
#include "support/test_support.h"

namespace {

namespace nn = torch::nn;
using edge::model::conv2d_weight_grad_gemm;
using edge::model::conv2d_with_gemm_weight_grad;
using edge::model::gemm_weight_grad_applies;
using edge::test::error_message;

constexpr auto kCL = torch::MemoryFormat::ChannelsLast;

struct Case {
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw;
};

std::string name(const Case& k) {
  return "n" + std::to_string(k.n) + "c" + std::to_string(k.c) + "_" + std::to_string(k.h) + "x" +
         std::to_string(k.w) + "_o" + std::to_string(k.o) + "_k" + std::to_string(k.kh) + "x" + std::to_string(k.kw) +
         "_s" + std::to_string(k.sh) + "x" + std::to_string(k.sw) + "_p" + std::to_string(k.ph) + "x" +
         std::to_string(k.pw);
}

class GemmWeightGradShapes : public ::testing::TestWithParam<Case> {};

// Square and rectangular inputs, unequal strides and paddings, 1x1 to 5x5 kernels, padding
// wider than a stride, an output of a single position.
INSTANTIATE_TEST_SUITE_P(GemmWeightGradConv, GemmWeightGradShapes,
                         ::testing::Values(Case{3, 5, 9, 7, 4, 3, 3, 2, 2, 1, 1}, Case{2, 6, 8, 8, 3, 1, 1, 2, 2, 0, 0},
                                           Case{2, 3, 11, 10, 5, 3, 2, 3, 2, 0, 1}, Case{1, 4, 5, 5, 2, 5, 5, 2, 2, 2, 2},
                                           Case{2, 8, 7, 7, 16, 3, 3, 2, 2, 1, 1}, Case{2, 4, 3, 3, 2, 3, 3, 2, 2, 0, 0}),
                         [](const auto& info) { return name(info.param); });

// The weight gradient of conv2d(x, w) for `gy`, and the same sum over absolute values, in
// float64 by LibTorch's reference kernel (oneDNN has no float64 path, so neither depends on
// which oneDNN kernel this CPU gets).
std::pair<torch::Tensor, torch::Tensor> exact_weight_grad(const torch::Tensor& gy, const torch::Tensor& x,
                                                          torch::IntArrayRef weight_sizes,
                                                          const std::vector<int64_t>& stride,
                                                          const std::vector<int64_t>& padding) {
  const auto dw = [&](const torch::Tensor& g, const torch::Tensor& xx) {
    return std::get<1>(at::convolution_backward(g.to(torch::kFloat64), xx.to(torch::kFloat64),
                                                torch::zeros(weight_sizes, torch::kFloat64), c10::nullopt, stride,
                                                padding, {1, 1}, false, {0, 0}, 1, {false, true, false}));
  };
  return {dw(gy, x), dw(gy.abs(), x.abs())};
}

// |fl(sum) - sum| <= gamma_K * sum |products| for a float32 dot product of K terms in any
// order (Higham, Accuracy and Stability of Numerical Algorithms, 3.1), gamma_K = K u / (1 - K u):
// a bound from the arithmetic, the same for every kernel and summation order.
torch::Tensor fp32_dot_bound(const torch::Tensor& abs_sum, int64_t terms) {
  const double u = std::ldexp(1.0, -24), ku = double(terms + 1) * u;  // +1: the product's own rounding
  return abs_sum * (ku / (1 - ku));
}

TEST_P(GemmWeightGradShapes, Fp32MatchesLibTorchsConvolution) {
  const Case k = GetParam();
  torch::manual_seed(1);
  const torch::Tensor x0 = torch::randn({k.n, k.c, k.h, k.w}).contiguous(kCL);
  const torch::Tensor w0 = torch::randn({k.o, k.c, k.kh, k.kw}).contiguous(kCL);
  const std::vector<int64_t> stride = {k.sh, k.sw}, padding = {k.ph, k.pw};

  torch::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
  const torch::Tensor y = conv2d_with_gemm_weight_grad(x, w, stride, padding);
  const torch::Tensor gy = torch::randn_like(y);
  y.backward(gy);

  // LibTorch's forward and input gradient; its weight gradient is not asked for (a strided
  // 1x1 case here is the oneDNN bug onednn_rtus_hazard() describes).
  torch::Tensor xr = x0.clone().requires_grad_(true);
  const torch::Tensor yr = torch::conv2d(xr, w0, {}, stride, padding);
  yr.backward(gy);

  EXPECT_TRUE(torch::equal(y, yr)) << "the forward pass is LibTorch's";
  EXPECT_TRUE(torch::equal(x.grad(), xr.grad())) << "the input gradient is LibTorch's kernel on the same tensors";
  const auto [exact, abs_sum] = exact_weight_grad(gy, x0, w0.sizes(), stride, padding);
  const torch::Tensor err = (w.grad().to(torch::kFloat64) - exact).abs();
  EXPECT_TRUE((err <= fp32_dot_bound(abs_sum, k.n * y.size(2) * y.size(3))).all().item<bool>())
      << "largest error " << err.max().item<double>();
  EXPECT_TRUE(w.grad().is_contiguous(kCL)) << "the weight gradient keeps the weight's layout";
}

TEST_P(GemmWeightGradShapes, Bf16WeightGradientIsTheExactSumRoundedOnce) {
  const Case k = GetParam();
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({k.n, k.c, k.h, k.w}).to(torch::kBFloat16).contiguous(kCL);
  const std::vector<int64_t> stride = {k.sh, k.sw}, padding = {k.ph, k.pw};
  const std::vector<int64_t> weight_sizes = {k.o, k.c, k.kh, k.kw};
  const int64_t oh = (k.h + 2 * k.ph - k.kh) / k.sh + 1, ow = (k.w + 2 * k.pw - k.kw) / k.sw + 1;
  const torch::Tensor gy = torch::randn({k.n, k.o, oh, ow}).to(torch::kBFloat16).contiguous(kCL);

  const torch::Tensor dw = conv2d_weight_grad_gemm(gy, x, weight_sizes, stride, padding);
  ASSERT_EQ(dw.sizes(), torch::IntArrayRef(weight_sizes));
  ASSERT_EQ(dw.scalar_type(), torch::kBFloat16);
  // The same bf16 values, summed exactly enough in float64 by LibTorch's reference kernel.
  const torch::Tensor exact = std::get<1>(at::convolution_backward(
      gy.to(torch::kFloat64), x.to(torch::kFloat64), torch::zeros(weight_sizes, torch::kFloat64), c10::nullopt, stride,
      padding, {1, 1}, false, {0, 0}, 1, {false, true, false}));
  // fp32 accumulation of a few hundred products, then one rounding to bf16 (2^-8 relative).
  const torch::Tensor err = (dw.to(torch::kFloat64) - exact).abs();
  const torch::Tensor bound = exact.abs() * std::ldexp(1.0, -8) + 1e-5 * exact.abs().max();
  EXPECT_TRUE((err <= bound).all().item<bool>()) << "largest error " << err.max().item<double>();
}

// small_resnet's layer2.0.conv1 shape (batch 4): 3x3 stride 2 from 14x14 to 7x7.
nn::Conv2d strided_conv(int64_t c = 32, int64_t o = 64, int64_t k = 3, int64_t stride = 2, int64_t pad = 1) {
  torch::manual_seed(4);
  nn::Conv2d conv(nn::Conv2dOptions(c, o, k).stride(stride).padding(pad).bias(false));
  edge::model::to_channels_last(*conv);
  return conv;
}

// The shape of oneDNN issue 6035 (1x1, stride 2, 4 < 8 input channels, NHWC): through
// LibTorch's own backward this aborts with heap corruption or hangs on an AVX2 CPU (and under
// DNNL_MAX_CPU_ISA=AVX2 on any x86 CPU, as the suite's second pass in .ci/run runs it);
// conv2d() must route it around that kernel in every precision.
TEST(GemmWeightGradConv, StridedOneByOneWithFewChannelsNeverReachesOneDnnsBackwardWeights) {
  for (const bool bf16_autocast : {false, true}) {
    if (bf16_autocast && edge::cpu_features().bf16_convolutions_unavailable) continue;  // see test_support.h
    torch::manual_seed(8);
    nn::Conv2d conv(nn::Conv2dOptions(4, 8, 1).stride(2).bias(false));
    edge::model::to_channels_last(*conv);
    const torch::Tensor x0 = torch::randn({32, 4, 32, 32}).contiguous(kCL);
    torch::Tensor x = x0.clone().requires_grad_(true), y;
    {
      const edge::model::AutocastScope autocast(bf16_autocast);
      ASSERT_TRUE(edge::model::onednn_rtus_hazard(*conv, x)) << "autocast " << bf16_autocast;
      ASSERT_TRUE(gemm_weight_grad_applies(*conv, x));
      y = edge::model::conv2d(*conv, x);
    }
    const torch::Tensor gy = torch::randn(y.sizes()).to(y.scalar_type()).contiguous(kCL);
    y.backward(gy);
    ASSERT_EQ(conv->weight.grad().scalar_type(), torch::kFloat32);
    const std::vector<int64_t> stride = {2, 2}, padding = {0, 0};
    const torch::Tensor xin = bf16_autocast ? x0.to(torch::kBFloat16) : x0;
    const auto [exact, abs_sum] = exact_weight_grad(gy, xin, conv->weight.sizes(), stride, padding);
    // fp32 accumulation (bound above); bf16 adds one rounding of the result (2^-8 relative).
    torch::Tensor bound = fp32_dot_bound(abs_sum, 32 * 16 * 16);
    if (bf16_autocast) bound = bound + exact.abs() * std::ldexp(1.0, -8);
    const torch::Tensor err = (conv->weight.grad().to(torch::kFloat64) - exact).abs();
    EXPECT_TRUE((err <= bound).all().item<bool>()) << "autocast " << bf16_autocast << ": largest error "
                                                   << err.max().item<double>();
  }
}

TEST(GemmWeightGradConv, RtusHazardIsOnlyTheStridedOneByOneWithFewChannels) {
  const auto cl = [](std::vector<int64_t> sizes) { return torch::randn(sizes).contiguous(kCL); };
  EXPECT_TRUE(edge::model::onednn_rtus_hazard(*strided_conv(15, 8, 1, 2, 0), cl({2, 15, 8, 8})));
  EXPECT_FALSE(edge::model::onednn_rtus_hazard(*strided_conv(16, 8, 1, 2, 0), cl({2, 16, 8, 8}))) << "16 channels";
  EXPECT_FALSE(edge::model::onednn_rtus_hazard(*strided_conv(4, 8, 1, 1, 0), cl({2, 4, 8, 8}))) << "stride 1";
  EXPECT_FALSE(edge::model::onednn_rtus_hazard(*strided_conv(4, 8, 3, 2, 1), cl({2, 4, 8, 8}))) << "3x3";
  EXPECT_FALSE(edge::model::onednn_rtus_hazard(*strided_conv(4, 8, 1, 2, 0), torch::randn({2, 4, 8, 8}))) << "NCHW";
  EXPECT_FALSE(edge::model::onednn_rtus_hazard(*strided_conv(4, 8, 1, 2, 0), cl({2, 4, 8, 8}).to(torch::kFloat64)))
      << "float64 (LibTorch's reference kernel)";
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(edge::model::onednn_rtus_hazard(*strided_conv(4, 8, 1, 2, 0), cl({2, 4, 8, 8}))) << "no gradients";
}

TEST(GemmWeightGradConv, ModuleUnderBf16AutocastGivesLibTorchsValuesAndFp32WeightGradients) {
  if (!edge::model::cpu_has_native_bf16()) GTEST_SKIP() << "the GEMM route is for CPUs with native bf16";
  nn::Conv2d conv = strided_conv(), ref = strided_conv();
  torch::manual_seed(5);
  const torch::Tensor x0 = torch::randn({4, 32, 14, 14}).to(torch::kBFloat16).contiguous(kCL);
  torch::Tensor x = x0.clone().requires_grad_(true), xr = x0.clone().requires_grad_(true);
  torch::Tensor y, yr;
  {
    const edge::model::AutocastScope autocast(true);
    ASSERT_TRUE(gemm_weight_grad_applies(*conv, x));
    y = edge::model::conv2d(*conv, x);
    yr = ref->forward(xr);
  }
  EXPECT_TRUE(torch::equal(y, yr));
  const torch::Tensor gy = torch::randn_like(y.to(torch::kFloat32)).to(torch::kBFloat16).contiguous(kCL);
  y.backward(gy);
  yr.backward(gy);
  EXPECT_TRUE(torch::equal(x.grad(), xr.grad()));
  ASSERT_EQ(conv->weight.grad().scalar_type(), torch::kFloat32) << "the gradient reaches the fp32 master weight";
  // Both are bf16 roundings of fp32 sums taken in different orders.
  const double scale = ref->weight.grad().abs().max().item<double>();
  EXPECT_LE((conv->weight.grad() - ref->weight.grad()).abs().max().item<double>(), std::ldexp(scale, -7));
}

TEST(GemmWeightGradConv, InputWithoutGradientGetsOnlyTheWeightGradient) {
  torch::manual_seed(6);
  const torch::Tensor x = torch::randn({2, 8, 7, 7}).contiguous(kCL);
  torch::Tensor w = torch::randn({16, 8, 3, 3}).contiguous(kCL).requires_grad_(true);
  conv2d_with_gemm_weight_grad(x, w, {2, 2}, {1, 1}).sum().backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
}

TEST(GemmWeightGradConv, AppliesOnlyToStridedBf16ChannelsLastConvolutionsWithSmallOutputs) {
  if (!edge::model::cpu_has_native_bf16()) GTEST_SKIP() << "the GEMM route is for CPUs with native bf16";
  const auto bf16_cl = [](std::vector<int64_t> sizes) {
    return torch::randn(sizes).to(torch::kBFloat16).contiguous(kCL);
  };
  const edge::model::AutocastScope autocast(true);
  // small_resnet's strided convolutions (batch 2): where the GEMM measured faster, and not.
  EXPECT_TRUE(gemm_weight_grad_applies(*strided_conv(32, 64), bf16_cl({2, 32, 14, 14}))) << "3x3 to 7x7";
  EXPECT_TRUE(gemm_weight_grad_applies(*strided_conv(64, 128), bf16_cl({2, 64, 7, 7}))) << "3x3 to 4x4";
  EXPECT_TRUE(gemm_weight_grad_applies(*strided_conv(64, 128, 1, 2, 0), bf16_cl({2, 64, 7, 7}))) << "1x1 to 4x4";
  EXPECT_FALSE(gemm_weight_grad_applies(*strided_conv(16, 32), bf16_cl({2, 16, 28, 28}))) << "3x3 to 14x14";
  EXPECT_FALSE(gemm_weight_grad_applies(*strided_conv(32, 64, 1, 2, 0), bf16_cl({2, 32, 14, 14}))) << "1x1 to 7x7";

  nn::Conv2d conv = strided_conv();
  const torch::Tensor x = bf16_cl({2, 32, 14, 14});
  EXPECT_FALSE(gemm_weight_grad_applies(*strided_conv(32, 64, 3, 1, 1), bf16_cl({2, 32, 7, 7}))) << "stride 1";
  EXPECT_FALSE(gemm_weight_grad_applies(*conv, x.contiguous())) << "NCHW";
  EXPECT_FALSE(gemm_weight_grad_applies(*conv, x.to(torch::kFloat32))) << "fp32";
  {
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(gemm_weight_grad_applies(*conv, x)) << "no gradients wanted";
  }
  nn::Conv2d with_bias(nn::Conv2dOptions(32, 64, 3).stride(2).padding(1));
  EXPECT_FALSE(gemm_weight_grad_applies(*with_bias, x)) << "bias";
  nn::Conv2d grouped(nn::Conv2dOptions(32, 64, 3).stride(2).padding(1).groups(2).bias(false));
  EXPECT_FALSE(gemm_weight_grad_applies(*grouped, x)) << "groups";
  nn::Conv2d dilated(nn::Conv2dOptions(32, 64, 3).stride(2).padding(2).dilation(2).bias(false));
  EXPECT_FALSE(gemm_weight_grad_applies(*dilated, x)) << "dilation";
  nn::Conv2d reflect(nn::Conv2dOptions(32, 64, 3).stride(2).padding(1).padding_mode(torch::kReflect).bias(false));
  EXPECT_FALSE(gemm_weight_grad_applies(*reflect, x)) << "reflect padding";
  conv->weight.set_requires_grad(false);
  EXPECT_FALSE(gemm_weight_grad_applies(*conv, x)) << "frozen weight";
}

TEST(GemmWeightGradConv, Bf16WeightsApplyWithoutAutocastAndFp32WeightsDoNot) {
  if (!edge::model::cpu_has_native_bf16()) GTEST_SKIP() << "the GEMM route is for CPUs with native bf16";
  nn::Conv2d conv = strided_conv();
  const torch::Tensor x = torch::randn({2, 32, 14, 14}).to(torch::kBFloat16).contiguous(kCL);
  EXPECT_FALSE(gemm_weight_grad_applies(*conv, x)) << "fp32 weight, bf16 input, no autocast: LibTorch's error";
  conv->to(torch::kBFloat16);
  EXPECT_TRUE(gemm_weight_grad_applies(*conv, x));
}

TEST(GemmWeightGradConv, OtherConvolutionsFallBackToTheModuleBitForBit) {
  EDGE_SKIP_IF_BF16_CONVOLUTIONS_UNAVAILABLE();
  nn::Conv2d a = strided_conv(16, 32), b = strided_conv(16, 32);  // 3x3 to 14x14: not taken
  torch::manual_seed(7);
  const torch::Tensor x0 = torch::randn({2, 16, 28, 28}).to(torch::kBFloat16).contiguous(kCL);
  torch::Tensor x = x0.clone().requires_grad_(true), xr = x0.clone().requires_grad_(true);
  torch::Tensor y, yr;
  {
    const edge::model::AutocastScope autocast(true);
    ASSERT_FALSE(gemm_weight_grad_applies(*a, x));
    y = edge::model::conv2d(*a, x);
    yr = b->forward(xr);
  }
  y.to(torch::kFloat32).sum().backward();
  yr.to(torch::kFloat32).sum().backward();
  EXPECT_TRUE(torch::equal(y, yr));
  EXPECT_TRUE(torch::equal(a->weight.grad(), b->weight.grad()));
  EXPECT_TRUE(torch::equal(x.grad(), xr.grad()));
}

TEST(GemmWeightGradConv, PreconditionsNameWhatWasExpected) {
  const torch::Tensor x = torch::randn({2, 4, 5, 5}).contiguous(kCL), w = torch::randn({3, 4, 3, 3});
  const auto op = [&](const torch::Tensor& xx, const torch::Tensor& ww, std::vector<int64_t> s, std::vector<int64_t> p) {
    return error_message<c10::Error>([&] { conv2d_with_gemm_weight_grad(xx, ww, s, p); });
  };
  EXPECT_NE(op(x, w.to(torch::kBFloat16), {2, 2}, {1, 1}).find("same dtype"), std::string::npos);
  EXPECT_NE(op(x, torch::randn({3, 5, 3, 3}), {2, 2}, {1, 1}).find("4 input channels"), std::string::npos);
  EXPECT_NE(op(x, w, {0, 2}, {1, 1}).find("strides >= 1"), std::string::npos);
  EXPECT_NE(op(x, torch::randn({3, 4, 9, 9}), {2, 2}, {1, 1}).find("to fit the padded input"), std::string::npos);
  EXPECT_NE(op(x.reshape({2, 4, 25}), w, {2, 2}, {1, 1}).find("4-D"), std::string::npos);
  const std::string grad = error_message<c10::Error>([&] { conv2d_weight_grad_gemm(torch::randn({2, 3, 2, 2}), x, w.sizes(), {2, 2}, {1, 1}); });
  EXPECT_NE(grad.find("does not match the convolution"), std::string::npos) << grad;
}

}  // namespace
