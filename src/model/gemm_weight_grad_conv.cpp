#include "edge/model/gemm_weight_grad_conv.h"

#include <ATen/ops/convolution_backward.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "conv_options.h"
#include "edge/model/compute_mode.h"

namespace edge::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Output extent of one spatial dimension (dilation 1).
int64_t out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

// cols [N*OH*OW, KH*KW*C]: row (n, y, x) holds xpad[n, y*sh + i, x*sw + j, :] for every tap
// (i, j), zeros where the tap falls in the padding. One pass over the output, parallel over
// output rows; the kw taps of a row are adjacent in NHWC, so an interior row is one copy.
torch::Tensor im2col_nhwc(const torch::Tensor& xs, std::array<int64_t, 2> out, std::array<int64_t, 2> kernel,
                          torch::IntArrayRef stride, torch::IntArrayRef padding) {
  const int64_t n = xs.size(0), h = xs.size(1), w = xs.size(2), c = xs.size(3);
  // Plain names, not structured bindings: lambdas may not capture those in C++17 (clang refuses).
  const int64_t oh = out[0], ow = out[1], kh = kernel[0], kw = kernel[1];
  torch::Tensor cols = torch::empty({n * oh * ow, kh * kw * c}, xs.options());
  const int64_t pixel = c * xs.element_size();  // bytes of one position's channels
  const char* src = static_cast<const char*>(xs.data_ptr());
  char* dst = static_cast<char*>(cols.data_ptr());
  const int64_t grain = std::max<int64_t>(1, 2048 / std::max<int64_t>(1, ow * kh * kw));  // output rows per task
  at::parallel_for(0, n * oh, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {  // r = image * oh + y
      const int64_t image = r / oh, y = r % oh;
      char* row = dst + r * ow * kh * kw * pixel;
      for (int64_t x = 0; x < ow; ++x) {
        const int64_t x0 = x * stride[1] - padding[1];
        for (int64_t i = 0; i < kh; ++i, row += kw * pixel) {
          const int64_t iy = y * stride[0] - padding[0] + i;
          if (iy < 0 || iy >= h) {
            std::memset(row, 0, kw * pixel);
            continue;
          }
          const char* line = src + (image * h + iy) * w * pixel;
          if (x0 >= 0 && x0 + kw <= w) {
            std::memcpy(row, line + x0 * pixel, kw * pixel);
            continue;
          }
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t ix = x0 + j;
            if (ix < 0 || ix >= w) std::memset(row + j * pixel, 0, pixel);
            else std::memcpy(row + j * pixel, line + ix * pixel, pixel);
          }
        }
      }
    }
  });
  return cols;
}

struct GemmWeightGradConv : torch::autograd::Function<GemmWeightGradConv> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               std::vector<int64_t> stride, std::vector<int64_t> padding) {
    ctx->save_for_backward({x, weight});
    torch::Tensor y = at::conv2d(x, weight, {}, stride, padding);
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &weight = saved[1];
    const auto stride = ctx->saved_data["stride"].toIntVector();
    const auto padding = ctx->saved_data["padding"].toIntVector();
    // The layout the forward kernel wrote (and the input gradient kernel expects).
    const torch::Tensor dy = grads[0].contiguous(x.suggest_memory_format());
    torch::Tensor dx, dw;
    if (ctx->needs_input_grad(0))
      dx = std::get<0>(at::convolution_backward(dy, x, weight, c10::nullopt, stride, padding, {1, 1}, false, {0, 0},
                                                1, {true, false, false}));
    if (ctx->needs_input_grad(1)) dw = conv2d_weight_grad_gemm(dy, x, weight.sizes(), stride, padding);
    return {dx, dw, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

namespace {

// The shape conditions shared by both routes below: groups 1, explicit zero padding, dilation
// 1, stride > 1 in both directions, no bias, a weight that wants its gradient, a CPU
// channels-last 4-D input, gradients being recorded, and a non-empty output.
struct StridedShape {
  bool ok = false;
  int64_t oh = 0, ow = 0;
  bool one_by_one = false;
};

StridedShape strided_shape(const torch::nn::Conv2dImpl& conv, const torch::Tensor& x) {
  const auto& o = conv.options;
  const torch::Tensor& w = conv.weight;
  StridedShape s;
  if (!x.defined() || !x.device().is_cpu() || x.dim() != 4 || !x.is_contiguous(torch::MemoryFormat::ChannelsLast))
    return s;
  if (!torch::GradMode::is_enabled() || !w.requires_grad() || conv.bias.defined()) return s;
  const torch::ExpandingArray<2>* pad = detail::explicit_padding(o.padding());
  if (o.groups() != 1 || !pad || !detail::zero_padding(o.padding_mode())) return s;
  const auto stride = *o.stride(), dilation = *o.dilation(), kernel = *o.kernel_size(), padding = **pad;
  if (dilation[0] != 1 || dilation[1] != 1 || stride[0] < 2 || stride[1] < 2) return s;
  s.oh = out_size(x.size(2), kernel[0], stride[0], padding[0]);
  s.ow = out_size(x.size(3), kernel[1], stride[1], padding[1]);
  s.one_by_one = kernel[0] == 1 && kernel[1] == 1;
  s.ok = s.oh >= 1 && s.ow >= 1;  // else let LibTorch report the bad shape
  return s;
}

// The dtype the convolution computes in: bf16 under CPU bf16 autocast, else the input's.
torch::ScalarType compute_dtype(const torch::Tensor& x) {
  return cpu_autocast_bf16_active() ? torch::kBFloat16 : x.scalar_type();
}

// onednn_rtus_hazard for an already computed strided_shape(conv, x).
bool rtus_hazard(const torch::nn::Conv2dImpl& conv, const torch::Tensor& x, const StridedShape& s) {
  if (!s.ok || !s.one_by_one || x.size(1) >= 16) return false;  // 16: the widest channel block (AVX-512; AVX2: 8)
  const torch::ScalarType dtype = compute_dtype(x);
  const bool weight_fits = conv.weight.scalar_type() == dtype || cpu_autocast_bf16_active();
  return weight_fits && (dtype == torch::kFloat32 || dtype == torch::kBFloat16);
}

}  // namespace

bool onednn_rtus_hazard(const torch::nn::Conv2dImpl& conv, const torch::Tensor& x) {
  return rtus_hazard(conv, x, strided_shape(conv, x));
}

bool gemm_weight_grad_applies(const torch::nn::Conv2dImpl& conv, const torch::Tensor& x) {
  const StridedShape s = strided_shape(conv, x);  // asked per convolution call: computed once
  if (rtus_hazard(conv, x, s)) return true;
  if (!s.ok || x.scalar_type() != torch::kBFloat16) return false;
  if (conv.weight.scalar_type() != torch::kBFloat16 && !cpu_autocast_bf16_active()) return false;
  if (!cpu_has_native_bf16()) return false;  // measured on AVX512-BF16 only
  // Where the GEMM won in bench_conv_weight_grad (oneDNN 2.6, AVX512-BF16, 2 threads).
  return s.oh * s.ow <= (s.one_by_one ? 16 : 49);
}

torch::Tensor conv2d(torch::nn::Conv2dImpl& conv, const torch::Tensor& x) {
  if (!gemm_weight_grad_applies(conv, x)) return conv.forward(x);
  const auto& o = conv.options;
  const auto stride = *o.stride();
  const auto padding = **detail::explicit_padding(o.padding());
  // What autocast would do to the input and weight (differentiable casts: fp32 gradients reach
  // an fp32 master weight); a no-op without autocast.
  const torch::ScalarType dtype = compute_dtype(x);
  return conv2d_with_gemm_weight_grad(x.to(dtype), conv.weight.to(dtype), stride, padding);
}

torch::Tensor conv2d_with_gemm_weight_grad(const torch::Tensor& x, const torch::Tensor& weight,
                                           torch::IntArrayRef stride, torch::IntArrayRef padding) {
  TORCH_CHECK(x.device().is_cpu() && weight.device().is_cpu(), "conv2d_with_gemm_weight_grad: expected CPU tensors, got ",
              x.device(), " and ", weight.device());
  TORCH_CHECK(x.dim() == 4 && weight.dim() == 4, "conv2d_with_gemm_weight_grad: expected 4-D input and weight, got ",
              x.sizes(), " and ", weight.sizes());
  TORCH_CHECK(x.scalar_type() == weight.scalar_type() &&
                  (x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kFloat32),
              "conv2d_with_gemm_weight_grad: expected input and weight of the same dtype, bfloat16 or float, got ",
              x.scalar_type(), " and ", weight.scalar_type());
  TORCH_CHECK(weight.size(1) == x.size(1), "conv2d_with_gemm_weight_grad: expected a weight with ", x.size(1),
              " input channels, got ", weight.sizes());
  TORCH_CHECK(stride.size() == 2 && padding.size() == 2 && stride[0] >= 1 && stride[1] >= 1 && padding[0] >= 0 &&
                  padding[1] >= 0,
              "conv2d_with_gemm_weight_grad: expected two strides >= 1 and two paddings >= 0, got ", stride, " and ",
              padding);
  TORCH_CHECK(out_size(x.size(2), weight.size(2), stride[0], padding[0]) >= 1 &&
                  out_size(x.size(3), weight.size(3), stride[1], padding[1]) >= 1,
              "conv2d_with_gemm_weight_grad: expected the kernel ", weight.sizes().slice(2), " to fit the padded input ",
              x.sizes().slice(2), " with padding ", padding);
  return GemmWeightGradConv::apply(x, weight, stride.vec(), padding.vec());
}

torch::Tensor conv2d_weight_grad_gemm(const torch::Tensor& grad_out, const torch::Tensor& x,
                                      torch::IntArrayRef weight_sizes, torch::IntArrayRef stride,
                                      torch::IntArrayRef padding) {
  TORCH_CHECK(x.dim() == 4 && grad_out.dim() == 4 && weight_sizes.size() == 4 && grad_out.size(0) == x.size(0) &&
                  weight_sizes[1] == x.size(1) && grad_out.size(1) == weight_sizes[0] && stride.size() == 2 &&
                  padding.size() == 2,
              "conv2d_weight_grad_gemm: expected input [N, C, H, W], output gradient [N, O, OH, OW], weight sizes "
              "[O, C, KH, KW], two strides and two paddings, got ",
              x.sizes(), ", ", grad_out.sizes(), ", ", weight_sizes, ", ", stride, ", ", padding);
  TORCH_CHECK(grad_out.scalar_type() == x.scalar_type(), "conv2d_weight_grad_gemm: expected the input's dtype ",
              x.scalar_type(), " for the output gradient, got ", grad_out.scalar_type());
  const int64_t n = x.size(0), c = x.size(1), o = weight_sizes[0], kh = weight_sizes[2], kw = weight_sizes[3];
  const int64_t oh = grad_out.size(2), ow = grad_out.size(3);
  TORCH_CHECK(oh == out_size(x.size(2), kh, stride[0], padding[0]) && ow == out_size(x.size(3), kw, stride[1], padding[1]),
              "conv2d_weight_grad_gemm: output gradient ", grad_out.sizes(), " does not match the convolution of ",
              x.sizes(), " by ", weight_sizes, " with stride ", stride, " and padding ", padding);
  const torch::Tensor xs = x.permute({0, 2, 3, 1}).contiguous();                               // [N, H, W, C]
  const torch::Tensor dy = grad_out.permute({0, 2, 3, 1}).contiguous().view({n * oh * ow, o});  // [N*OH*OW, O]

  // One GEMM over the im2col columns. (Splitting the images over the threads, one GEMM each,
  // measured no faster and rounds the partial products once more.)
  const torch::Tensor cols = im2col_nhwc(xs, {oh, ow}, {kh, kw}, stride, padding);
  // oneDNN's bf16 GEMM accumulates in fp32. LibTorch sends small products (1.13: at most
  // 16^3 multiply-adds) and CPUs without AVX-512 to a fallback that may not, so those are
  // computed in fp32 and rounded once here.
  const bool onednn_bf16 = x.scalar_type() == torch::kBFloat16 && cpu_has_native_bf16() &&
                           o * cols.size(0) * cols.size(1) > 16 * 16 * 16;
  const torch::Tensor dw = onednn_bf16 ? dy.t().matmul(cols)  // [O, KH*KW*C]
                                       : dy.t().to(torch::kFloat32).matmul(cols.to(torch::kFloat32)).to(x.scalar_type());
  return dw.view({o, kh, kw, c}).permute({0, 3, 1, 2});  // [O, C, KH, KW], channels-last strides
}

}  // namespace edge::model
