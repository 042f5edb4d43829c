// A run directory written by `edge train`, opened for inference: its configuration, its
// final weights (RUN_DIR/model.pt) in eval mode and their fingerprint, its class names,
// and the logits of image files preprocessed exactly as the run's evaluation does.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/model/bn_folding.h"
#include "edge/model/compute_mode.h"
#include "edge/model/multilabel_net.h"
#include "edge/train/train_config.h"

namespace edge::eval {

struct TrainedRun {
  std::filesystem::path dir;
  train::TrainConfig config;
  model::MultiLabelNet model{nullptr};  // eval mode, in the run's memory format (compute_mode.h)
  std::string weights_hash;             // 64-bit FNV-1a of model.pt's bytes, 16 hex digits
};

// Opens RUN_DIR: config.json and model.pt. Throws DataError naming `flag` and the path if
// it is not a run directory or a file is missing / does not match the configured model.
TrainedRun open_trained_run(const std::filesystem::path& run_dir, const std::string& flag = "--checkpoint");

// The weights' fingerprint as stored by `edge calibrate` (and the feature cache's key).
std::string weights_hash(const std::filesystem::path& weights_file);

// The run's class names: fashion-lt's fixed list, or the class list of the run's registry
// dataset (read from its validation split under the run's --data_root, or `data_root` if
// given). Throws DataError if that dataset cannot be read.
std::vector<std::string> run_class_names(const train::TrainConfig& config,
                                         const std::filesystem::path& data_root = {});

// The run's evaluation arithmetic held open across calls (for a server's lifetime rather than
// one command's): the evaluation transform and compute mode, with BatchNorm folded where
// `edge eval` folds it. dataset_logits opens one per call, so every path computes the same.
// Not thread-safe: one thread at a time runs the model (input() is safe from any thread).
class InferenceSession {
 public:
  explicit InferenceSession(TrainedRun& run);
  InferenceSession(const InferenceSession&) = delete;
  InferenceSession& operator=(const InferenceSession&) = delete;

  // A decoded image (uint8 [C, H, W], as data::ImageSource::load gives) through the run's
  // evaluation transform: the float [C', H', W'] network input the input pipeline would make.
  torch::Tensor input(const torch::Tensor& image_u8) const;
  // Logits (float32 [B, C], CPU) of a batch of input() tensors stacked to [B, C', H', W'].
  torch::Tensor logits(const torch::Tensor& inputs);
  // Logits of the images of `set` through the input pipeline (as dataset_logits).
  torch::Tensor logits(const data::Dataset& set, int64_t batch_size, int64_t workers, std::ostream* warnings,
                       std::vector<int64_t>* kept);

 private:
  TrainedRun& run_;
  data::Transform transform_;
  model::ComputeMode mode_;
  std::optional<model::FoldedInference> folded_;
};

// Logits of the images of `set` exactly as `edge eval` computes them for any set of the run
// (see predict_image_files); corrupt images are left out with a warning on `warnings`,
// `kept` (optional) receives the index of each row.
torch::Tensor dataset_logits(TrainedRun& run, const data::Dataset& set, int64_t batch_size, int64_t workers,
                             std::ostream* warnings, std::vector<int64_t>* kept = nullptr);

// Logits of image files exactly as `edge eval` computes them for any set of the run: decoded
// to RGB and read through the input pipeline (`workers` threads) with the run's evaluation
// transform (data::run_recipe), in the run's precision with BatchNorm folded where
// `edge eval` folds it:
//   fashion-lt runs: resized to 56x56 with Pillow's bilinear filter when the size differs (a
//     56x56 file is used as is, like the test set), then gray as PIL's convert("L"),
//     (x/255 - 0.5)/0.5;
//   registry runs: the reference evaluation transform Resize((image_size, image_size)) ->
//     ToTensor -> Normalize(ImageNet).
// Unreadable, missing or corrupt files throw DataError naming the file unless
// `skip_unreadable`, in which case each is reported as one warning line on `warnings` and
// left out. `kept` receives the index into `files` of each logits row.
torch::Tensor predict_image_files(TrainedRun& run, const std::vector<std::filesystem::path>& files,
                                  int64_t batch_size, int64_t workers, bool skip_unreadable,
                                  std::ostream& warnings, std::vector<int64_t>& kept);

}  // namespace edge::eval
