#include "edge/train/lr_schedule.h"

#include <cmath>

#include <fmt/format.h>

#include "edge/common/error.h"

namespace edge::train {

namespace {
constexpr double kCosineFloor = 1e-6;  // the reference's lr_min
}

LrSchedule::LrSchedule(const std::string& kind, double max_lr, int64_t total_steps, double pct_start)
    : kind_(kind), max_lr_(max_lr), total_steps_(total_steps) {
  if (kind == "onecycle") {
    one_cycle_.emplace(OneCycleOptions{max_lr, total_steps, pct_start});
  } else if (kind != "cosine" && kind != "constant") {
    throw UsageError(fmt::format("--schedule: unknown schedule '{}' (expected onecycle, cosine or constant)", kind));
  }
}

double LrSchedule::lr(int64_t step) const {
  if (one_cycle_) return one_cycle_->lr(step);
  if (kind_ == "constant") return max_lr_;
  // lr_min + (lr_max - lr_min) * (1 + cos(pi * step / total)) / 2, as the reference.
  const double pct = double(step) / double(std::max<int64_t>(1, total_steps_));
  return kCosineFloor + (max_lr_ - kCosineFloor) * 0.5 * (1.0 + std::cos(M_PI * pct));
}

std::optional<double> LrSchedule::momentum(int64_t step) const {
  if (one_cycle_) return one_cycle_->momentum(step);
  return std::nullopt;
}

}  // namespace edge::train
