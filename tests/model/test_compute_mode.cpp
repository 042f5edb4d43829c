// --precision: resolving `auto` for a device, and the native-bf16 detection it relies on.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "edge/common/cpu_features.h"
#include "edge/common/error.h"
#include "edge/model/compute_mode.h"

#include <torch/nn/modules/conv.h>

namespace {

using edge::model::cpu_has_native_bf16;
using edge::model::parse_channels_last;
using edge::model::resolve_channels_last;
using edge::model::resolve_precision;

TEST(ResolvePrecision, ExplicitValuesPassThroughOnEveryDevice) {
  for (const torch::Device device : {torch::Device(torch::kCPU), torch::Device(torch::kCUDA, 0)}) {
    EXPECT_EQ(resolve_precision("fp32", device), "fp32");
    EXPECT_EQ(resolve_precision("bf16", device), "bf16");
  }
}

TEST(ResolvePrecision, AutoOnCpuFollowsNativeBf16) {
  EXPECT_EQ(resolve_precision("auto", torch::Device(torch::kCPU)), cpu_has_native_bf16() ? "bf16" : "fp32");
}

TEST(ResolvePrecision, AutoOnCudaIsFp32) {
  // A Device value needs no GPU: the resolution only looks at its type.
  EXPECT_EQ(resolve_precision("auto", torch::Device(torch::kCUDA, 0)), "fp32");
  EXPECT_EQ(resolve_precision("auto", torch::Device(torch::kCUDA, 1)), "fp32");
}

TEST(ResolvePrecision, BadValueIsAUsageErrorNamingTheFlag) {
  for (const std::string bad : {"fp16", "", "AUTO", "bf16 "}) {
    try {
      resolve_precision(bad, torch::Device(torch::kCPU));
      FAIL() << "expected UsageError for '" << bad << "'";
    } catch (const edge::UsageError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("--precision"), std::string::npos) << m;
      EXPECT_NE(m.find("auto"), std::string::npos) << m;  // the accepted values are listed
    }
  }
}

TEST(ResolvePrecision, ParsePrecisionRefusesAnUnresolvedAuto) {
  EXPECT_FALSE(edge::model::parse_precision("fp32"));
  EXPECT_TRUE(edge::model::parse_precision("bf16"));
  EXPECT_THROW(edge::model::parse_precision("auto"), edge::UsageError);
}

TEST(ResolveChannelsLast, AutoIsChannelsLastOnACpuInEitherPrecisionAndNchwOnAGpu) {
  const torch::Device cpu(torch::kCPU), gpu(torch::kCUDA, 0);
  EXPECT_TRUE(resolve_channels_last("auto", "bf16", cpu));
  EXPECT_TRUE(resolve_channels_last("auto", "fp32", cpu)) << "fp32 on a CPU runs channels-last too (faster with AVX2)";
  EXPECT_FALSE(resolve_channels_last("auto", "bf16", gpu));
  EXPECT_FALSE(resolve_channels_last("auto", "fp32", gpu));
  for (const auto& precision : {"fp32", "bf16"})
    for (const auto& device : {cpu, gpu}) {
      EXPECT_TRUE(resolve_channels_last("true", precision, device)) << "an explicit value is kept";
      EXPECT_FALSE(resolve_channels_last("false", precision, device));
    }
}

TEST(ResolveChannelsLast, BadOrUnresolvedValuesAreUsageErrorsNamingTheFlag) {
  for (const std::string bad : {"yes", "", "TRUE", "1"}) {
    try {
      resolve_channels_last(bad, "bf16", torch::Device(torch::kCPU));
      FAIL() << "expected UsageError for '" << bad << "'";
    } catch (const edge::UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--channels_last"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_channels_last("auto"), edge::UsageError);
  EXPECT_TRUE(parse_channels_last("true"));
  EXPECT_FALSE(parse_channels_last("false"));
}

TEST(ToChannelsLast, OneChannelWeightsGetChannelsLastStridesSoTheStemOutputIsChannelsLast) {
  // A [16, 1, 3, 3] weight counts as contiguous in both layouts; unless its strides are the
  // channels-last ones the convolution writes NCHW and the layers after it mix layouts.
  torch::nn::Conv2d stem(torch::nn::Conv2dOptions(1, 16, 3).stride(2).padding(1).bias(false));
  edge::model::to_channels_last(*stem);
  EXPECT_EQ(stem->weight.strides(), (std::vector<int64_t>{9, 1, 3, 1}));
  const edge::model::ComputeMode cl{false, true};
  const torch::Tensor y = stem->forward(edge::model::to_input_format(torch::randn({4, 1, 12, 12}), cl));
  EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast)) << y.strides();
  EXPECT_FALSE(y.is_contiguous()) << "expected the NHWC layout, got NCHW strides " << y.strides();
  // Values are untouched, and a second conversion changes nothing.
  const torch::Tensor w = stem->weight.detach().clone();
  edge::model::to_channels_last(*stem);
  EXPECT_TRUE(torch::equal(stem->weight, w));
}

}  // namespace

namespace {

// Under a oneDNN cap below AVX-512 on AVX-512 hardware (README "Testing on every CPU") bf16
// convolutions have no kernel: autocast is refused with one line naming --precision, not left
// to fail inside oneDNN ("could not create a primitive descriptor iterator").
TEST(AutocastScope, RefusedExactlyWhereBf16ConvolutionsCannotRun) {
  if (!edge::cpu_features().bf16_convolutions_unavailable) {
    EXPECT_NO_THROW(edge::model::AutocastScope scope(true));
    return;
  }
  try {
    edge::model::AutocastScope scope(true);
    FAIL() << "expected UsageError";
  } catch (const edge::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--precision bf16"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(edge::model::AutocastScope scope(false));
}

}  // namespace
