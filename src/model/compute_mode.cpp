#include "edge/model/compute_mode.h"

#include <cstdint>

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "edge/common/cpu_features.h"
#include "edge/common/error.h"

// LibTorch 2.4 replaced the per-device autocast setters by device-type arguments (the old
// ones are deprecated there); both spellings are the stable C++ API of their versions.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define EDGE_AUTOCAST_DEVICE_API 1
#endif

namespace edge::model {

bool parse_precision(const std::string& precision) {
  if (precision == "fp32") return false;
  if (precision == "bf16") return true;
  if (precision == "auto")
    throw UsageError("--precision: 'auto' must be resolved for a device first (expected fp32 or bf16 here)");
  throw UsageError(fmt::format("--precision: expected fp32 or bf16, got '{}'", precision));
}

bool cpu_has_native_bf16() { return cpu_features().native_bf16; }

std::string resolve_precision(const std::string& requested, const torch::Device& device) {
  if (requested == "fp32" || requested == "bf16") return requested;
  if (requested == "auto") return device.is_cpu() && cpu_has_native_bf16() ? "bf16" : "fp32";
  throw UsageError(fmt::format("--precision: expected fp32, bf16 or auto, got '{}'", requested));
}

bool resolve_channels_last(const std::string& requested, const std::string& precision, const torch::Device& device) {
  if (requested == "true" || requested == "false") return requested == "true";
  if (requested == "auto") return device.is_cpu() && (precision == "bf16" || precision == "fp32");
  throw UsageError(fmt::format("--channels_last: expected auto, true or false, got '{}'", requested));
}

bool parse_channels_last(const std::string& channels_last) {
  if (channels_last == "true" || channels_last == "false") return channels_last == "true";
  if (channels_last == "auto")
    throw UsageError("--channels_last: 'auto' must be resolved for a precision and device first (expected true or "
                     "false here)");
  throw UsageError(fmt::format("--channels_last: expected true or false, got '{}'", channels_last));
}

namespace {

// t with exactly the channels-last strides. Not t.contiguous(ChannelsLast): when a dimension
// has size 1 (a 1-channel stem's [O, 1, kh, kw] weight) both layouts count as contiguous and
// contiguous() keeps the NCHW strides, so the convolution would pick NCHW for its output and
// every layer after it would mix layouts (measured: about a third slower training). This is what
// PyTorch's module.to(memory_format=torch.channels_last) does.
torch::Tensor exactly_channels_last(const torch::Tensor& t) {
  return torch::empty(t.sizes(), t.options().memory_format(torch::MemoryFormat::ChannelsLast)).copy_(t);
}

}  // namespace

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(exactly_channels_last(p));
  for (auto& b : module.buffers())
    if (b.dim() == 4) b.set_data(exactly_channels_last(b));
}

torch::Device parameter_device(const torch::nn::Module& module) {
  const auto params = module.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

torch::Tensor to_input_format(const torch::Tensor& x, const ComputeMode& mode) {
  return mode.channels_last && x.dim() == 4 ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

bool cpu_autocast_bf16_active() {
#ifdef EDGE_AUTOCAST_DEVICE_API
  return at::autocast::is_autocast_enabled(at::kCPU) && at::autocast::get_autocast_dtype(at::kCPU) == at::kBFloat16;
#else
  return at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == at::kBFloat16;
#endif
}

AutocastScope::AutocastScope(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  if (cpu_features().bf16_convolutions_unavailable)
    throw UsageError("--precision bf16: ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA caps oneDNN below AVX512_CORE on this "
                     "AVX-512 CPU, and LibTorch would still send it bf16 convolutions that it cannot run (expected "
                     "--precision fp32 with that cap, or the variable unset)");
#ifdef EDGE_AUTOCAST_DEVICE_API
  prev_enabled_ = at::autocast::is_autocast_enabled(at::kCPU);
  prev_dtype_ = at::autocast::get_autocast_dtype(at::kCPU);
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCPU, true);
#else
  prev_enabled_ = at::autocast::is_cpu_enabled();
  prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(true);
#endif
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
#ifdef EDGE_AUTOCAST_DEVICE_API
  at::autocast::set_autocast_enabled(at::kCPU, prev_enabled_);
  at::autocast::set_autocast_dtype(at::kCPU, prev_dtype_);
#else
  at::autocast::set_cpu_enabled(prev_enabled_);
  at::autocast::set_autocast_cpu_dtype(prev_dtype_);
#endif
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

}  // namespace edge::model
