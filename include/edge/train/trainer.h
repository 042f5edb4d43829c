// The training loop shared by every mode: one forward pass over [ID ; OE], the mode's
// loss, SGD/Adam with a per-iteration schedule, validation mAP after every epoch, and
// checkpoints that resume bit-identically.
//
// Epoch = one pass over the ID training set in ID batches (the last partial batch is
// dropped so that bottom-k always sees a full batch). The OE stream cycles: it is
// reshuffled whenever exhausted, so the schedule length never depends on the OE size
// (the reference's zip() stops at the shorter loader instead).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/optim.h>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/model/multilabel_net.h"
#include "edge/train/data_parallel.h"
#include "edge/train/lr_schedule.h"
#include "edge/train/objectives.h"
#include "edge/train/train_config.h"

namespace edge::train {

struct EpochStats {
  int64_t epoch = 0;  // 1-based: the number of completed epochs after this one
  double loss = 0;    // mean total loss over the epoch's finite steps
  std::vector<std::pair<std::string, double>> terms;  // mean of each loss term
  double beta = 0;          // beta_t used this epoch (joint)
  double lr = 0;            // head learning rate at the epoch's last step
  double val_map = 0;       // reference (trapezoidal) mAP on the validation set, in [0, 1]
  double images_per_s = 0;  // ID + OE training images per second
  double seconds = 0;
  int64_t skipped_steps = 0;  // non-finite steps skipped (--skip_nonfinite)
  int64_t corrupt_images = 0; // training slots whose image was corrupt (replaced; data/loader.h)
  bool best = false;          // best validation mAP so far
};

// Version of the checkpoint layout written by Trainer::save_checkpoint.
inline constexpr int64_t kCheckpointFormatVersion = 1;

// The training data, read through the input pipeline (data/loader.h) whatever it is: image
// files, IDX, in-memory tensors (fashion-lt, data::memory_source), decoded and augmented by
// `workers` threads, deterministically for a given seed whatever the worker count. ID and OE
// images take `train_transform`, validation images `eval_transform`. A corrupt training image
// is replaced by the next image of its set (one warning per file, counted in
// EpochStats::corrupt_images); a corrupt validation image is left out.
struct PipelineData {
  data::Dataset id_train, id_val, oe_train;  // id_val and oe_train may be empty (size 0)
  data::Transform train_transform = data::reference_train_transform();
  data::Transform eval_transform = data::reference_eval_transform();
  int64_t workers = 2;
  // With --hflip, flip whole [ID ; OE] slots by one coin each from the trainer's own stream
  // (fashion-lt's augmentation, data::fashion_lt_transform) rather than by a transform step.
  bool batch_flips = false;
};

class Trainer {
 public:
  // `log` receives one line per epoch; with `live_progress` also an in-place progress bar.
  // `placement`: the device, and the process group for data-parallel training (data_parallel.h);
  // --batch_size and --oe_batch_size are then global and must divide by the world size.
  // The ID and OE orders come from one seeded stream; augmentation draws are per sample.
  Trainer(const TrainConfig& config, PipelineData data, std::ostream& log, bool live_progress = false,
          Placement placement = {});
  ~Trainer();

  // Runs the remaining epochs (all of them, or those after a restored checkpoint);
  // `on_epoch` (optional) is called after each, e.g. to write checkpoints.
  std::vector<EpochStats> fit(const std::function<void(const EpochStats&)>& on_epoch = {});
  // Runs the next epoch only (fit() is a loop of this), logs its line and appends it to the
  // history; for callers that interleave training with other work (bench/bench_edge runs
  // one epoch of every side in turn). Throws UsageError once all n_epoch epochs are done.
  EpochStats train_epoch();

  // Everything needed to continue bit-identically: model, optimiser, epoch, global step,
  // RNG states, OE stream position, best mAP and the history. Written atomically.
  void save_checkpoint(const std::filesystem::path& file) const;
  // Restores a checkpoint written by save_checkpoint for the same configuration. Throws
  // DataError naming the file if it is missing, corrupt or from another configuration.
  // Loads onto this trainer's device, so a run may resume on another device or world size.
  void restore_checkpoint(const std::filesystem::path& file);

  model::MultiLabelNet model() const { return model_; }
  const TrainConfig& config() const { return config_; }
  const Placement& placement() const { return placement_; }
  int64_t epochs_done() const { return epochs_done_; }
  int64_t global_step() const { return global_step_; }
  double best_map() const { return best_map_; }
  const std::vector<EpochStats>& history() const { return history_; }

 private:
  struct Pipeline;
  struct StepValues {
    double total = 0;
    std::vector<std::pair<std::string, double>> terms;
  };
  void init(int64_t id_train_size, int64_t oe_train_size);
  // restore_checkpoint's work once the archive is open (its errors are translated there).
  void restore_state(torch::serialize::InputArchive& archive, const std::filesystem::path& file);
  // One epoch in its phases (flashlight's numbered train steps are the model).
  EpochStats run_epoch();
  ObjectiveParams objective_params(int64_t epoch) const;
  std::vector<std::vector<uint8_t>> plan_epoch(int64_t epoch);  // this rank's flip coins per step, if any
  std::pair<torch::Tensor, torch::Tensor> next_batch(const std::vector<uint8_t>* flips);
  std::optional<StepValues> train_step(const torch::Tensor& input, const torch::Tensor& y,
                                       const ObjectiveParams& params, int64_t epoch, int64_t step);
  double validate();
  // Throws Interrupted (common/interrupt.h) if SIGINT / SIGTERM arrived: checked between
  // steps, so no checkpoint is ever cut short.
  void stop_if_interrupted(int64_t epoch, int64_t step) const;
  void draw_progress(const EpochStats& st, int64_t epoch, int64_t step, int64_t finite_steps, double images,
                     double elapsed) const;
  torch::Tensor next_oe_indices();
  void apply_schedule();
  // This rank's shard of a global index batch (all of it in a single process).
  std::vector<int64_t> local_shard(const std::vector<int64_t>& global) const;

  TrainConfig config_;
  Mode mode_;
  std::ostream& log_;
  bool live_progress_;
  Placement placement_;
  model::MultiLabelNet model_{nullptr};
  model::ComputeMode compute_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  int64_t steps_per_epoch_ = 0;
  double session_seconds_ = 0;  // epochs run by this process, for the ETA
  int64_t session_epochs_ = 0;
  int64_t epochs_done_ = 0;
  int64_t global_step_ = 0;
  double best_map_ = -1.0;
  std::vector<EpochStats> history_;
  std::mt19937_64 rng_;
  std::vector<int64_t> oe_order_;
  int64_t oe_pos_ = 0;
  int64_t oe_size_ = 0;
  std::unique_ptr<Pipeline> pipe_;
};

// One epoch as a JSON object (the train_log.jsonl line format).
nlohmann::json epoch_stats_to_json(const EpochStats& stats);

// Sets the intra-op thread count (0 = all cores).
void set_threads(int64_t threads);

}  // namespace edge::train
