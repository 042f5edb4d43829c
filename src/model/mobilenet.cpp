#include "edge/model/mobilenet.h"

namespace edge::model {

namespace nn = torch::nn;

torch::Tensor ReLU6Impl::forward(torch::Tensor x) {
  if (x.scalar_type() == torch::kBFloat16) return x.clamp(0, 6);
  namespace F = torch::nn::functional;
  return F::hardtanh(x, F::HardtanhFuncOptions().min_val(0).max_val(6).inplace(true));
}

ConvBNReLU6Impl::ConvBNReLU6Impl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups) {
  push_back(nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding((kernel - 1) / 2).groups(groups).bias(false)));
  push_back(nn::BatchNorm2d(out));
  push_back(ReLU6());
}

InvertedResidualImpl::InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio) {
  TORCH_CHECK(stride == 1 || stride == 2, "InvertedResidual: expected stride 1 or 2, got ", stride);
  TORCH_CHECK(expand_ratio >= 1, "InvertedResidual: expected expand_ratio >= 1, got ", expand_ratio);
  const int64_t hidden = in * expand_ratio;
  use_residual_ = stride == 1 && in == out;
  conv = nn::Sequential();
  if (expand_ratio != 1) conv->push_back(ConvBNReLU6(in, hidden, 1, 1, 1));           // pointwise expand
  conv->push_back(ConvBNReLU6(hidden, hidden, 3, stride, hidden));                     // depthwise
  conv->push_back(nn::Conv2d(nn::Conv2dOptions(hidden, out, 1).bias(false)));           // pointwise linear
  conv->push_back(nn::BatchNorm2d(out));
  register_module("conv", conv);
}

torch::Tensor InvertedResidualImpl::forward(const torch::Tensor& x) {
  return use_residual_ ? x + conv->forward(x) : conv->forward(x);
}

MobileNetV2Impl::MobileNetV2Impl(const MobileNetV2Options& o) : in_channels_(o.in_channels) {
  TORCH_CHECK(o.in_channels >= 1, "MobileNetV2: expected in_channels >= 1, got ", o.in_channels);
  // t (expansion), c (channels), n (blocks), s (stride of the first block): torchvision's table.
  struct Stage { int64_t t, c, n, s; };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  features = nn::Sequential();
  int64_t channels = 32;
  features->push_back(ConvBNReLU6(o.in_channels, channels, 3, 2, 1));
  for (const Stage& st : stages) {
    for (int64_t i = 0; i < st.n; ++i) {
      features->push_back(InvertedResidual(channels, st.c, i == 0 ? st.s : 1, st.t));
      channels = st.c;
    }
  }
  out_channels_ = 1280;
  features->push_back(ConvBNReLU6(channels, out_channels_, 1, 1, 1));
  register_module("features", features);
  // torchvision's init: Kaiming-normal (fan_out) convs, BN weight 1 bias 0.
  for (auto& m : modules(/*include_self=*/false))
    if (auto* conv = m->as<nn::Conv2d>()) nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut);
}

torch::Tensor MobileNetV2Impl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == in_channels_, "MobileNetV2: expected input [B, ", in_channels_,
              ", H, W], got ", x.sizes());
  return features->forward(x);
}

}  // namespace edge::model
