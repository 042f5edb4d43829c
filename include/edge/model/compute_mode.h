// How the network's arithmetic runs: fp32 or bf16 autocast, NCHW or channels-last.
//
// fp32 + NCHW is the reference path (bit-identical to earlier versions of this program).
// bf16 runs convolutions and matrix products under LibTorch's CPU autocast (weights and
// activations cast to bfloat16, accumulation in fp32, BatchNorm and reductions in fp32, as
// PyTorch's torch.autocast("cpu", dtype=torch.bfloat16) does); parameters, gradients and
// optimiser state stay fp32. Callers cast logits to fp32 before any loss or score.
// channels_last stores 4-D activations and convolution weights as NHWC, the layout the
// oneDNN convolutions prefer.
#pragma once

#include <string>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace edge::model {

struct ComputeMode {
  bool bf16 = false;           // --precision bf16
  bool channels_last = false;  // --channels_last

  bool is_reference() const { return !bf16 && !channels_last; }
};

// "fp32" -> false, "bf16" -> true (a resolved precision, see resolve_precision); throws
// UsageError naming --precision otherwise.
bool parse_precision(const std::string& precision);

// Whether this CPU computes bf16 natively: on x86, AVX512_BF16 or AMX-BF16, with the OS
// saving the registers they use. Elsewhere bf16 autocast is emulated through fp32 and runs
// slower than fp32 itself, so `--precision auto` picks bf16 only where this is true.
// Always false on non-x86 builds.
bool cpu_has_native_bf16();

// The precision that --precision `requested` means on `device`: "fp32" and "bf16" as given;
// "auto" -> "bf16" on a CPU with native bf16 (cpu_has_native_bf16), "fp32" otherwise,
// including every CUDA device (bf16 on GPUs is not validated against the quality gate).
// Throws UsageError naming --precision for any other value.
std::string resolve_precision(const std::string& requested, const torch::Device& device);

// Whether --channels_last `requested` means channels-last for a run computing in the resolved
// `precision` ("fp32" | "bf16") on `device`: "true" / "false" as given; "auto" -> channels-last
// on a CPU in either precision (oneDNN's convolutions and the fused BatchNorm + ReLU of
// batch_norm_relu.h run on NHWC without layout conversions: with AVX2 kernels fp32 channels-last
// measured 1.04x the training and 1.20x the evaluation rate of fp32 NCHW, bf16 channels-last
// likewise faster on AVX-512-BF16; both passed the quality gate; BENCHMARKS.md), NCHW on a GPU
// (not validated there). The bit-reproducible reference mode is explicit:
// --precision fp32 --channels_last false.
// Throws UsageError naming --channels_last for any other value.
bool resolve_channels_last(const std::string& requested, const std::string& precision, const torch::Device& device);

// "true" -> true, "false" -> false (a resolved --channels_last); UsageError otherwise.
bool parse_channels_last(const std::string& channels_last);

// Converts every 4-D parameter and buffer of `module` to channels-last (in place, keeping
// the tensors' identities, so an optimiser built before or after still sees them).
void to_channels_last(torch::nn::Module& module);

// The device of the module's first parameter (CPU for a module without parameters).
torch::Device parameter_device(const torch::nn::Module& module);

// The network input in the mode's memory format.
torch::Tensor to_input_format(const torch::Tensor& x, const ComputeMode& mode);

// Whether LibTorch's CPU autocast is on with bfloat16 in this thread (an AutocastScope(true)
// or the caller's own), i.e. whether a convolution here would run in bf16.
bool cpu_autocast_bf16_active();

// Enables CPU bf16 autocast for its lifetime when `enabled` (nests like Python's
// torch.autocast: the previous state is restored, and the cast-weight cache is cleared when
// the outermost scope ends, so a later optimiser step is never hidden behind stale copies).
// Throws UsageError naming --precision where bf16 convolutions cannot run
// (CpuFeatures::bf16_convolutions_unavailable: a oneDNN ISA cap below AVX-512 on AVX-512 hardware).
class AutocastScope {
 public:
  explicit AutocastScope(bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

}  // namespace edge::model
