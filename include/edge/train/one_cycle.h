// The one-cycle learning-rate policy with PyTorch's OneCycleLR semantics (cosine
// annealing, two phases, momentum cycled inversely), stepped once per iteration.
#pragma once

#include <cstdint>

namespace edge::train {

struct OneCycleOptions {
  double max_lr = 0.1;
  int64_t total_steps = 1;
  double pct_start = 0.2;
  double div_factor = 25.0;         // initial lr = max_lr / div_factor
  double final_div_factor = 1e4;    // final lr = initial lr / final_div_factor
  double base_momentum = 0.85;
  double max_momentum = 0.95;
};

class OneCycleSchedule {
 public:
  explicit OneCycleSchedule(const OneCycleOptions& options);
  // Learning rate and momentum for iteration `step` (0-based; step 0 = the first update).
  double lr(int64_t step) const;
  double momentum(int64_t step) const;

 private:
  double anneal(double start, double end, int64_t step, bool is_lr) const;
  OneCycleOptions o_;
  double phase1_end_;  // last step of the warm-up phase (PyTorch: pct_start * total - 1)
};

}  // namespace edge::train
