// Learning-rate schedules stepped once per iteration: one-cycle (PyTorch OneCycleLR),
// cosine to 1e-6 (the reference's LambdaLR cosine_annealing) and constant.
#pragma once

#include <optional>
#include <string>

#include "edge/train/one_cycle.h"

namespace edge::train {

class LrSchedule {
 public:
  // `kind`: onecycle | cosine | constant. Throws UsageError naming --schedule otherwise.
  LrSchedule(const std::string& kind, double max_lr, int64_t total_steps, double pct_start);
  // Learning rate at iteration `step` (0-based).
  double lr(int64_t step) const;
  // Momentum (SGD) / beta1 (Adam) at `step` when the schedule cycles it (one-cycle only).
  std::optional<double> momentum(int64_t step) const;

 private:
  std::string kind_;
  double max_lr_;
  int64_t total_steps_;
  std::optional<OneCycleSchedule> one_cycle_;
};

}  // namespace edge::train
