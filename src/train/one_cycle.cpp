#include "edge/train/one_cycle.h"

#include <cmath>

#include <fmt/format.h>

#include "edge/common/error.h"

namespace edge::train {

namespace {

double cosine(double start, double end, double pct) {
  return end + (start - end) / 2.0 * (std::cos(M_PI * pct) + 1.0);
}

}  // namespace

OneCycleSchedule::OneCycleSchedule(const OneCycleOptions& options) : o_(options) {
  if (o_.total_steps < 1) throw UsageError(fmt::format("one-cycle schedule needs at least 1 step, got {}", o_.total_steps));
  if (!(o_.pct_start > 0.0 && o_.pct_start < 1.0))
    throw UsageError(fmt::format("one-cycle pct_start must be in (0, 1), got {}", o_.pct_start));
  phase1_end_ = o_.pct_start * double(o_.total_steps) - 1.0;
}

double OneCycleSchedule::anneal(double start_v, double mid_v, int64_t step, bool is_lr) const {
  // Phase 1: start -> mid over [0, phase1_end]; phase 2: mid -> end over (phase1_end, total-1].
  const double s = double(step);
  if (s <= phase1_end_ && phase1_end_ > 0.0) return cosine(start_v, mid_v, s / phase1_end_);
  const double end_v = is_lr ? o_.max_lr / o_.div_factor / o_.final_div_factor : o_.max_momentum;
  const double span = double(o_.total_steps - 1) - phase1_end_;
  const double pct = span > 0.0 ? std::min(1.0, (s - phase1_end_) / span) : 1.0;
  return cosine(mid_v, end_v, pct);
}

double OneCycleSchedule::lr(int64_t step) const {
  return anneal(o_.max_lr / o_.div_factor, o_.max_lr, step, true);
}

double OneCycleSchedule::momentum(int64_t step) const {
  return anneal(o_.max_momentum, o_.base_momentum, step, false);
}

}  // namespace edge::train
