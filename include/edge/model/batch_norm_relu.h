// relu(batch_norm(x) [+ residual]) in training mode as one operation with its own backward.
//
// Why: in a small ResNet on 2 CPU cores the memory-bound passes around the convolutions
// (BatchNorm statistics and normalisation, the residual add, ReLU, and their backward
// passes) cost about a fifth of a bf16 training step (PyTorch's profiler on the same
// kernels). PyTorch runs them as separate kernels, each reading and writing the whole
// activation; here the forward pass reads x twice (statistics, then normalise + add + ReLU)
// and writes y once, and the backward pass reads the incoming gradient, y (the ReLU mask) and
// x twice and writes the input gradient (and the residual's) once, with no intermediate
// tensors.
//
// Semantics are those of torch::nn::BatchNorm{1,2}d in training mode followed by ReLU:
// batch statistics (biased variance) normalise x; running_mean/running_var are updated with
// the unbiased variance and the module's momentum (a cumulative average when momentum is
// unset), num_batches_tracked is incremented; ReLU's gradient passes where the output is > 0
// and NaN propagates. Statistics are accumulated in fp32 over blocks of rows and in fp64
// across blocks, so the result does not depend on the thread count. bf16 inputs are computed
// in fp32 and rounded once, at the output.
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/types.h>

namespace edge::model {

// Whether the fused kernel applies: a CPU tensor of float or bfloat16, either 4-D in
// channels-last layout or 2-D contiguous [rows, channels]; a residual, when given, of the same
// shape, dtype and layout; the module in training mode with affine parameters and running
// statistics. batch_norm_relu() falls back to the separate LibTorch operations otherwise.
bool batch_norm_relu_fusable(const torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x,
                             const torch::Tensor& residual);

// relu(bn(x) + residual) (residual may be undefined: relu(bn(x))). Same values and gradients
// as the unfused expression up to float rounding; fused where batch_norm_relu_fusable().
torch::Tensor batch_norm_relu(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x,
                              const torch::Tensor& residual = {});

// The fused operation itself (no fallback): training-mode BatchNorm with the given affine
// parameters and running statistics (updated in place with `momentum`), then + residual
// (optional), then ReLU. Preconditions checked with TORCH_CHECK. Differentiable with respect
// to x, residual, weight and bias.
torch::Tensor fused_batch_norm_relu(const torch::Tensor& x, const torch::Tensor& residual, const torch::Tensor& weight,
                                    const torch::Tensor& bias, torch::Tensor running_mean, torch::Tensor running_var,
                                    double momentum, double eps);

// The kernels come in an AVX-512 build and a portable one, chosen by the CPU at run time.
// true forces the portable build even on an AVX-512 CPU (so tests can check both); false
// restores the automatic choice.
void use_portable_batch_norm_relu_kernels(bool portable);

}  // namespace edge::model
