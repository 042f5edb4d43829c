#include "edge/model/bn_folding.h"

#include <ATen/Context.h>
#include <torch/torch.h>

#include "conv_options.h"
#include "edge/common/cpu_features.h"

namespace edge::model {

namespace {

using detail::explicit_padding;
using detail::zero_padding;

// scale = g / sqrt(v + eps), shift = beta - mu * scale, in float64 so that folding adds no
// rounding beyond the final cast.
std::pair<torch::Tensor, torch::Tensor> bn_affine(const torch::Tensor& weight, const torch::Tensor& bias,
                                                  const torch::Tensor& mean, const torch::Tensor& var, double eps) {
  const auto f64 = [](const torch::Tensor& t) { return t.detach().to(torch::kFloat64); };
  torch::Tensor scale = (f64(var) + eps).rsqrt();
  if (weight.defined()) scale = scale * f64(weight);
  torch::Tensor shift = -f64(mean) * scale;
  if (bias.defined()) shift = shift + f64(bias);
  return {scale, shift};
}

torch::Tensor in_mode(torch::Tensor t, const ComputeMode& mode) {
  t = t.to(mode.bf16 ? torch::kBFloat16 : torch::kFloat32);
  return mode.channels_last && t.dim() == 4 ? t.contiguous(torch::MemoryFormat::ChannelsLast) : t.contiguous();
}

// A dense (possibly channels-last) or MKLDNN activation in the blocked layout of `dtype`.
torch::Tensor to_blocked(const torch::Tensor& x, at::ScalarType dtype) {
  if (x.is_mkldnn()) return x;
  return x.to_mkldnn(dtype);
}

}  // namespace

bool blocked_layout_available(const torch::Device& device, const ComputeMode& mode) {
  // LibTorch checks the hardware, not a oneDNN cap, before it makes a bf16 MKLDNN tensor.
  return device.is_cpu() && at::hasMKLDNN() && (!mode.bf16 || cpu_hardware().avx512);
}

FoldedLayout preferred_folded_layout(const torch::Device& device, const ComputeMode& mode) {
  return blocked_layout_available(device, mode) ? FoldedLayout::Blocked : FoldedLayout::Strided;
}

torch::Tensor to_strided(const torch::Tensor& x) { return x.is_mkldnn() ? x.to_dense() : x; }

torch::Tensor& add_shortcut_(torch::Tensor& out, const torch::Tensor& shortcut) {
  if (out.is_mkldnn() == shortcut.is_mkldnn()) return out += shortcut;
  if (out.is_mkldnn()) return out += shortcut.to_mkldnn(out.scalar_type());
  return out += shortcut.to_dense();
}

void FoldedLayer::fold(const torch::nn::Conv2dImpl& conv, const torch::Tensor& bn_weight, const torch::Tensor& bn_bias,
                       const torch::Tensor& running_mean, const torch::Tensor& running_var, double eps,
                       const FoldTarget& target) {
  clear();
  const ComputeMode& mode = target.mode;
  const torch::ExpandingArray<2>* padding = explicit_padding(conv.options.padding());
  if (!padding || !zero_padding(conv.options.padding_mode()) ||
      !running_mean.defined() || !running_var.defined())
    return;  // stays unfolded
  torch::NoGradGuard no_grad;
  const auto [scale, shift] = bn_affine(bn_weight, bn_bias, running_mean, running_var, eps);
  const torch::Tensor w = conv.weight.detach().to(torch::kFloat64) * scale.view({-1, 1, 1, 1});
  const torch::Tensor b = conv.bias.defined() ? shift + conv.bias.detach().to(torch::kFloat64) * scale : shift;
  conv_ = true;
  stride_ = torch::IntArrayRef(conv.options.stride()).vec();
  padding_ = torch::IntArrayRef(*padding).vec();
  dilation_ = torch::IntArrayRef(conv.options.dilation()).vec();
  groups_ = conv.options.groups();
  bias_ = in_mode(b, mode);
  if (target.layout == FoldedLayout::Blocked && w.is_cpu()) {
    TORCH_CHECK(blocked_layout_available(w.device(), mode),
                "FoldTarget: expected a layout this CPU and LibTorch support (see blocked_layout_available), got the "
                "blocked layout in ", mode.bf16 ? "bf16 without AVX-512" : "fp32 without oneDNN");
    // Reordered once into the layout oneDNN's convolution wants for these strides and paddings.
    const torch::Tensor dense = w.to(mode.bf16 ? torch::kBFloat16 : torch::kFloat32).contiguous();
    weight_ = at::mkldnn_reorder_conv2d_weight(dense.to_mkldnn(), padding_, stride_, dilation_, groups_);
  } else {
    weight_ = in_mode(w, mode);
  }
}

void FoldedLayer::fold(const torch::nn::LinearImpl& linear, const torch::Tensor& bn_weight,
                       const torch::Tensor& bn_bias, const torch::Tensor& running_mean,
                       const torch::Tensor& running_var, double eps, const FoldTarget& target) {
  clear();
  const ComputeMode& mode = target.mode;
  if (!running_mean.defined() || !running_var.defined()) return;
  torch::NoGradGuard no_grad;
  const auto [scale, shift] = bn_affine(bn_weight, bn_bias, running_mean, running_var, eps);
  const torch::Tensor w = linear.weight.detach().to(torch::kFloat64) * scale.view({-1, 1});
  const torch::Tensor b = linear.bias.defined() ? shift + linear.bias.detach().to(torch::kFloat64) * scale : shift;
  weight_ = in_mode(w, mode);
  bias_ = in_mode(b, mode);
  conv_ = false;
}

void FoldedLayer::clear() {
  weight_ = torch::Tensor();
  bias_ = torch::Tensor();
}

torch::Tensor FoldedLayer::operator()(const torch::Tensor& x) const {
  if (blocked())
    return at::mkldnn_convolution(to_blocked(x, weight_.scalar_type()), weight_, bias_, padding_, stride_, dilation_,
                                  groups_);
  return conv_ ? torch::conv2d(x, weight_, bias_, stride_, padding_, dilation_, groups_)
               : torch::linear(x, weight_, bias_);
}

void fold_conv_bn(FoldedLayer& out, const torch::nn::Conv2d& c, const torch::nn::BatchNorm2d& bn,
                  const FoldTarget& target) {
  if (!bn->options.track_running_stats()) {
    out.clear();
    return;
  }
  out.fold(*c, bn->weight, bn->bias, bn->running_mean, bn->running_var, bn->options.eps(), target);
}

FoldedInference::FoldedInference(torch::nn::Module& net, const ComputeMode& mode)
    : FoldedInference(net, FoldTarget{mode, preferred_folded_layout(parameter_device(net), mode)}) {}

FoldedInference::FoldedInference(torch::nn::Module& net, const FoldTarget& target) {
  TORCH_CHECK(!net.is_training(), "FoldedInference: expected a network in eval mode");
  try {
    for (const auto& m : net.modules(/*include_self=*/true))
      if (auto* f = dynamic_cast<BatchNormFoldable*>(m.get())) {
        folded_.push_back(f);
        f->fold_batch_norm(&target);
      }
  } catch (...) {  // no half-folded network left behind
    for (auto* f : folded_) f->fold_batch_norm(nullptr);
    throw;
  }
}

FoldedInference::~FoldedInference() {
  for (auto* f : folded_) f->fold_batch_norm(nullptr);
}

}  // namespace edge::model
