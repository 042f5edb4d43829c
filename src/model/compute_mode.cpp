#include "edge/model/compute_mode.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>

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
  throw UsageError(fmt::format("--precision: expected fp32 or bf16, got '{}'", precision));
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  for (auto& b : module.buffers())
    if (b.dim() == 4) b.set_data(b.contiguous(torch::MemoryFormat::ChannelsLast));
}

torch::Tensor to_input_format(const torch::Tensor& x, const ComputeMode& mode) {
  return mode.channels_last && x.dim() == 4 ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
}

AutocastScope::AutocastScope(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
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
