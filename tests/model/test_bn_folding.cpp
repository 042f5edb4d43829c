// Evaluation with BatchNorm folded into the layer before it (model/bn_folding.h): equal to
// the unfolded eval-mode network up to rounding, gone once the scope closes, and never
// used by the reference compute mode.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "edge/data/dataset.h"
#include "edge/data/fashion_lt.h"
#include "edge/train/predict.h"
#include "edge/model/bn_folding.h"
#include "edge/model/multilabel_net.h"
#include "support/test_support.h"

namespace {

using namespace edge::model;

MultiLabelNet trained_looking_net(const std::string& arch) {
  torch::manual_seed(3);
  ModelConfig c;
  c.arch = arch;
  c.in_channels = arch == "small_resnet" ? 1 : 3;
  c.hidden = 24;
  c.num_classes = 5;
  MultiLabelNet net = build_model(c);
  // Non-trivial BatchNorm statistics and affine parameters, as after training.
  torch::NoGradGuard no_grad;
  for (auto& m : net->modules()) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.3, 0.3);
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.3, 2.0);
    } else if (auto* bn1 = m->as<torch::nn::BatchNorm1d>()) {
      bn1->weight.uniform_(0.5, 1.5);
      bn1->bias.uniform_(-0.3, 0.3);
      bn1->running_mean.uniform_(-0.5, 0.5);
      bn1->running_var.uniform_(0.3, 2.0);
    }
  }
  net->eval();
  return net;
}

double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item<double>();
}

class BnFolding : public ::testing::TestWithParam<std::string> {};

TEST_P(BnFolding, Fp32FoldedEqualsUnfoldedUpToRoundingAndScopeRestores) {
  MultiLabelNet net = trained_looking_net(GetParam());
  const int64_t size = GetParam() == "small_resnet" ? 56 : 64;
  const torch::Tensor x = torch::randn({3, net->config().in_channels, size, size});
  torch::NoGradGuard no_grad;
  const torch::Tensor before = net->forward(x);
  for (const FoldedLayout layout : {FoldedLayout::Strided, FoldedLayout::Blocked})
    for (const bool cl : {false, true}) {
      const ComputeMode mode{false, cl};
      torch::Tensor folded;
      {
        FoldedInference scope(*net, FoldTarget{mode, layout});
        folded = net->forward(to_input_format(x, mode));
      }
      const std::string what = std::string(layout == FoldedLayout::Blocked ? "blocked" : "strided") +
                               (cl ? ", channels-last input" : ", NCHW input");
      EXPECT_FALSE(folded.is_mkldnn()) << what;
      EXPECT_LT(max_rel_diff(folded, before), 1e-4) << what;
      EXPECT_GT((folded - before).abs().max().item<double>(), 0.0)
          << what << ": identical to the bit, the folded path did not run";
    }
  // Closed scope: the unfolded arithmetic again, bit for bit.
  EXPECT_TRUE(torch::equal(net->forward(x), before));
}

TEST_P(BnFolding, Bf16FoldedInEitherLayoutIsCloseToFp32) {
  EDGE_SKIP_IF_BF16_CONVOLUTIONS_UNAVAILABLE();
  MultiLabelNet net = trained_looking_net(GetParam());
  const int64_t size = GetParam() == "small_resnet" ? 56 : 64;
  const torch::Tensor x = torch::randn({3, net->config().in_channels, size, size});
  torch::NoGradGuard no_grad;
  const torch::Tensor before = net->forward(x);
  const ComputeMode mode{true, true};
  for (const FoldedLayout layout : {FoldedLayout::Strided, FoldedLayout::Blocked}) {
    // LibTorch's bf16 MKLDNN tensors need AVX-512 hardware (see preferred_folded_layout).
    if (layout == FoldedLayout::Blocked && !blocked_layout_available(torch::kCPU, mode)) continue;
    torch::Tensor folded;
    {
      AutocastScope autocast(true);
      FoldedInference scope(*net, FoldTarget{mode, layout});
      folded = net->forward(to_input_format(x, mode)).to(torch::kFloat32);
    }
    EXPECT_LT(max_rel_diff(folded, before), 5e-2) << (layout == FoldedLayout::Blocked ? "blocked" : "strided");
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, BnFolding, ::testing::Values("small_resnet", "resnet18", "resnet50"));

// One folded conv -> BN in each layout against the eval-mode pair it replaces.
TEST(FoldedLayer, BlockedConvolutionReturnsAnMkldnnTensorEqualToTheStridedFold) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "LibTorch without oneDNN";
  torch::manual_seed(5);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(8, 16, 3).stride(2).padding(1).bias(false));
  torch::nn::BatchNorm2d bn(16);
  torch::NoGradGuard no_grad;
  bn->weight.uniform_(0.5, 1.5);
  bn->bias.uniform_(-0.3, 0.3);
  bn->running_mean.uniform_(-0.5, 0.5);
  bn->running_var.uniform_(0.3, 2.0);
  bn->eval();
  const torch::Tensor x = torch::randn({2, 8, 15, 15});
  const torch::Tensor expected = bn->forward(conv->forward(x));
  FoldedLayer strided, blocked;
  fold_conv_bn(strided, conv, bn, FoldTarget{ComputeMode{}, FoldedLayout::Strided});
  fold_conv_bn(blocked, conv, bn, FoldTarget{ComputeMode{}, FoldedLayout::Blocked});
  ASSERT_FALSE(strided.blocked());
  ASSERT_TRUE(blocked.blocked());
  const torch::Tensor from_dense = blocked(x), from_mkldnn = blocked(x.to_mkldnn());
  ASSERT_TRUE(from_dense.is_mkldnn());
  ASSERT_TRUE(from_mkldnn.is_mkldnn());
  EXPECT_EQ(to_strided(from_dense).sizes(), expected.sizes());
  EXPECT_LT(max_rel_diff(to_strided(from_dense), expected), 1e-5);
  EXPECT_TRUE(torch::equal(to_strided(from_dense), to_strided(from_mkldnn)));
  EXPECT_LT(max_rel_diff(strided(x), expected), 1e-5);
  blocked.clear();
  EXPECT_FALSE(blocked.active());
  EXPECT_FALSE(blocked.blocked());
}

TEST(FoldedLayer, ShortcutAddsAcrossLayoutsAndToStridedLeavesDenseTensorsAlone) {
  if (!at::hasMKLDNN()) GTEST_SKIP() << "LibTorch without oneDNN";
  const torch::Tensor a = torch::randn({2, 16, 5, 5}), b = torch::randn({2, 16, 5, 5});
  const torch::Tensor sum = a + b;
  for (const bool out_blocked : {false, true})
    for (const bool shortcut_blocked : {false, true}) {
      torch::Tensor out = out_blocked ? a.to_mkldnn() : a.clone();
      add_shortcut_(out, shortcut_blocked ? b.to_mkldnn() : b);
      EXPECT_EQ(out.is_mkldnn(), out_blocked);
      EXPECT_TRUE(torch::allclose(to_strided(out), sum)) << out_blocked << shortcut_blocked;
    }
  EXPECT_TRUE(to_strided(a).is_same(a));
}

TEST(FoldedLayer, PreferredLayoutIsBlockedOnACpuWithOneDnnAndStridedOnCuda) {
  const ComputeMode fp32{false, true}, bf16{true, true};
  EXPECT_EQ(preferred_folded_layout(torch::kCPU, fp32), at::hasMKLDNN() ? FoldedLayout::Blocked : FoldedLayout::Strided);
  // Found on an AVX2-only CPU: a blocked bf16 fold threw "bf16 path needs the cpu support avx512bw,
  // avx512vl and avx512dq" from LibTorch; a oneDNN cap on AVX-512 hardware does not show it.
  EXPECT_EQ(preferred_folded_layout(torch::kCPU, bf16),
            at::hasMKLDNN() && edge::cpu_hardware().avx512 ? FoldedLayout::Blocked : FoldedLayout::Strided);
  EXPECT_EQ(preferred_folded_layout(torch::Device(torch::kCUDA, 0), fp32), FoldedLayout::Strided);
  if (blocked_layout_available(torch::kCPU, bf16)) return;
  // Asked for anyway, the fold names the reason instead of LibTorch's error from inside oneDNN.
  MultiLabelNet net = trained_looking_net("small_resnet");
  net->eval();
  torch::NoGradGuard no_grad;
  const std::string msg = edge::test::error_message([&] { FoldedInference scope(*net, FoldTarget{bf16, FoldedLayout::Blocked}); });
  EXPECT_NE(msg.find("FoldTarget: expected a layout this CPU and LibTorch support"), std::string::npos) << msg;
  const torch::Tensor x = torch::randn({2, 1, 56, 56});
  const torch::Tensor unfolded = net->forward(x);
  { FoldedInference none_yet(*net, FoldTarget{fp32, FoldedLayout::Strided}); }
  EXPECT_TRUE(torch::equal(net->forward(x), unfolded));  // nothing was left folded
}

TEST(BnFoldingScope, RefusesANetworkInTrainingMode) {
  MultiLabelNet net = trained_looking_net("small_resnet");
  net->train();
  EXPECT_THROW({ FoldedInference scope(*net, ComputeMode{true, true}); }, c10::Error);
}

// n random 56x56 gray canvases, and their logits through the evaluation's one road: the
// input pipeline with fashion-lt's transform (x / 255 - 0.5) / 0.5.
torch::Tensor random_canvases(int64_t n) { return torch::randint(0, 256, {n, 1, 56, 56}, torch::kUInt8); }

torch::Tensor logits_of(MultiLabelNet& net, const torch::Tensor& canvases, const ComputeMode& mode) {
  edge::data::Dataset set;
  set.name = "random";
  set.images = edge::data::memory_source(canvases, "random");
  return edge::train::predict_logits(net, set, edge::data::fashion_lt_transform(), 4, 1, nullptr, nullptr, mode);
}

TEST(BnFoldingPredict, ReferenceModeIsTheUnfoldedForwardBitForBit) {
  MultiLabelNet net = trained_looking_net("small_resnet");
  const auto images = random_canvases(7);
  const torch::Tensor logits = logits_of(net, images, ComputeMode{});
  torch::NoGradGuard no_grad;
  const torch::Tensor direct = torch::cat({net->forward(edge::data::fashion_lt_transform().normalize(images.slice(0, 0, 4))),
                                           net->forward(edge::data::fashion_lt_transform().normalize(images.slice(0, 4)))});
  EXPECT_TRUE(torch::equal(logits, direct));
}

TEST(BnFoldingPredict, Bf16ChannelsLastFoldedIsCloseToFp32AndLeavesTheModelAsItWas) {
  EDGE_SKIP_IF_BF16_CONVOLUTIONS_UNAVAILABLE();
  MultiLabelNet net = trained_looking_net("small_resnet");
  net->train();
  const auto images = random_canvases(6);
  const torch::Tensor ref = logits_of(net, images, ComputeMode{});
  const ComputeMode fast{true, true};
  to_channels_last(*net);
  const torch::Tensor logits = logits_of(net, images, fast);
  EXPECT_EQ(logits.scalar_type(), torch::kFloat32);
  EXPECT_LT(max_rel_diff(logits, ref), 5e-2);
  EXPECT_TRUE(net->is_training());
  // The folded copies are gone: an fp32 forward is the unfolded one.
  torch::NoGradGuard no_grad;
  net->eval();
  const auto x = edge::data::fashion_lt_transform().normalize(images);
  EXPECT_LT(max_rel_diff(net->forward(x), ref), 1e-5);
}

}  // namespace
