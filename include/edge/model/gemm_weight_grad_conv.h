// A strided convolution whose weight gradient is one matrix product over im2col columns.
//
// Why: in bf16 channels-last training on an AVX512-BF16 CPU, LibTorch 1.13's oneDNN 2.6
// computes the weight gradient of strided convolutions with small outputs slowly. For
// fashion-lt's small_resnet (batch 256) the 3x3 stride-2 convolutions to 7x7 and 4x4 and the
// 1x1 stride-2 downsample to 4x4 took 3.4 / 3.6 / 1.7 ms where the same sums as im2col + one
// bf16 GEMM take 2.7 / 2.5 / 0.7 ms; in the minutes when this VM runs slowly oneDNN's took
// 9.0 / 7.3 / 5.2 ms and the GEMM's 3.7 / 2.9 / 0.7 ms
// (bench/bench_conv_weight_grad, BENCHMARKS.md). The forward pass and the input gradient
// are LibTorch's own kernels; only the weight gradient changes:
//   dW[o, c, i, j] = sum over n, y, x of dY[n, o, y, x] * Xpad[n, c, y*sh + i, x*sw + j]
// as dY^T [O, N*OH*OW] @ cols [N*OH*OW, KH*KW*C], cols holding the NHWC input's patches
// (zeros in the padding), written in one pass. Accumulation is in fp32 (oneDNN's bf16 GEMM),
// the result rounded to bf16 once, as the convolution kernel's own weight gradient is.
#pragma once

#include <torch/nn/modules/conv.h>
#include <torch/types.h>

namespace edge::model {

// Whether `conv` on `x` would reach the oneDNN 2.6 bug that corrupts the heap: its jit 1x1
// backward-weights kernels (AVX2 and AVX-512) read a channels-last source of a strided 1x1
// convolution through a reduce-to-unit-stride workspace, and with fewer input channels than
// their channel block (8 on AVX2, 16 on AVX-512) index that workspace by the block instead of
// the channel count, writing past it (oneDNN issue 6035). Seen as "double free or corruption"
// or a hang on AVX2 CPUs, and reproduced with Debian's python3-torch under
// DNNL_MAX_CPU_ISA=AVX2. True for a CPU channels-last fp32 or bf16 input of a 1x1 convolution
// with stride > 1, fewer than 16 input channels, groups 1, no bias, zero padding, while the
// weight's gradient is being recorded; conv2d() then always takes the GEMM route, which never
// calls that kernel.
bool onednn_rtus_hazard(const torch::nn::Conv2dImpl& conv, const torch::Tensor& x);

// Whether conv2d() takes the GEMM weight-gradient route for `x`: always where
// onednn_rtus_hazard(); else for speed on a CPU with native bf16 (cpu_has_native_bf16), a
// channels-last 4-D input in bf16 (with a bf16 weight, or under bf16 autocast), gradients
// wanted for the weight, groups 1, dilation 1, zero padding, no bias, stride > 1 in both
// directions, and an output small enough for the GEMM to win (measured): at most 7x7
// positions per image for kernels larger than 1x1, at most 4x4 for 1x1 kernels.
bool gemm_weight_grad_applies(const torch::nn::Conv2dImpl& conv, const torch::Tensor& x);

// conv(x), through conv2d_with_gemm_weight_grad() where gemm_weight_grad_applies(), else the
// module's own forward. Same values; gradients equal up to float summation order.
torch::Tensor conv2d(torch::nn::Conv2dImpl& conv, const torch::Tensor& x);

// The operation itself (no fallback): conv2d(x, weight, stride, padding) without bias,
// differentiable with respect to x (LibTorch's kernel) and weight (the GEMM above).
// Preconditions checked with TORCH_CHECK: CPU, 4-D, same floating dtype, matching channels,
// two strides >= 1, two paddings >= 0, a non-empty output.
torch::Tensor conv2d_with_gemm_weight_grad(const torch::Tensor& x, const torch::Tensor& weight,
                                           torch::IntArrayRef stride, torch::IntArrayRef padding);

// The weight gradient alone: dW [O, C, KH, KW] (channels-last strides, x's dtype) of
// conv2d(x, W, stride, padding) for the output gradient `grad_out` [N, O, OH, OW] (same
// dtype as x), as one GEMM over the im2col columns of x. Shapes checked with TORCH_CHECK.
torch::Tensor conv2d_weight_grad_gemm(const torch::Tensor& grad_out, const torch::Tensor& x,
                                      torch::IntArrayRef weight_sizes, torch::IntArrayRef stride,
                                      torch::IntArrayRef padding);

}  // namespace edge::model
