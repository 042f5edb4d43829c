// The training loop shared by every mode: one forward pass over [ID ; OE], the mode's
// loss, SGD/Adam with a one-cycle schedule stepped per iteration, validation mAP per epoch.
//
// Epoch = one pass over the ID training set in ID batches (the last partial batch is
// dropped so that bottom-k always sees a full batch). The OE stream cycles: it is
// reshuffled whenever exhausted, so the schedule length never depends on the OE size
// (the reference's zip() stops at the shorter loader instead).
#pragma once

#include <functional>
#include <memory>
#include <random>
#include <ostream>
#include <vector>

#include <torch/optim.h>

#include "edge/data/image_set.h"
#include "edge/model/multilabel_net.h"
#include "edge/train/train_config.h"

namespace edge::train {

struct EpochStats {
  int64_t epoch = 0;        // 0-based
  double loss = 0, bce = 0, conf = 0, gap = 0;  // means over the epoch's steps
  double beta = 0;          // beta_t used this epoch
  double lr = 0;            // learning rate at the epoch's last step
  double val_map = 0;       // reference (trapezoidal) mAP on the validation set, in [0, 1]
  double images_per_s = 0;  // ID + OE training images per second
  double seconds = 0;
};

class Trainer {
 public:
  // `log` receives one progress line per epoch.
  Trainer(const TrainConfig& config, const data::Benchmark& data, std::ostream& log);

  // Runs all epochs; `on_epoch` (optional) is called after each.
  std::vector<EpochStats> fit(const std::function<void(const EpochStats&)>& on_epoch = {});

  model::MultiLabelNet model() const { return model_; }

 private:
  EpochStats run_epoch(int64_t epoch);
  torch::Tensor next_oe_indices();

  TrainConfig config_;
  const data::Benchmark& data_;
  std::ostream& log_;
  model::MultiLabelNet model_{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  int64_t steps_per_epoch_ = 0;
  int64_t global_step_ = 0;
  std::mt19937_64 rng_;
  std::vector<int64_t> oe_order_;
  size_t oe_pos_ = 0;
};

// Sets the intra-op thread count (0 = all cores).
void set_threads(int64_t threads);

}  // namespace edge::train
