#include "edge/eval/trained_run.h"

#include <optional>
#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/content_hash.h"
#include "edge/common/error.h"
#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/data/image_io.h"
#include "edge/data/registry.h"
#include "edge/eval/feature_cache.h"
#include "edge/train/predict.h"
#include "edge/model/bn_folding.h"
#include "edge/model/checkpoint.h"
#include "edge/model/compute_mode.h"

namespace edge::eval {

TrainedRun open_trained_run(const std::filesystem::path& run_dir, const std::string& flag) {
  if (run_dir.empty()) throw UsageError(fmt::format("{}: a run directory written by `edge train` is required", flag));
  if (!std::filesystem::is_directory(run_dir))
    throw DataError(fmt::format("{}: {} is not a directory (expected a run directory)", flag, run_dir.string()));
  TrainedRun run;
  run.dir = run_dir;
  run.config = train::load_run_config(run_dir);
  run.config.resolve_compute_mode(torch::Device(torch::kCPU));  // the model stays on the CPU here
  const auto weights = run_dir / "model.pt";
  run.model = model::load_weights(run.config.model, weights);
  if (run.config.compute_mode().channels_last) model::to_channels_last(*run.model);
  run.model->eval();
  run.weights_hash = weights_hash(weights);
  return run;
}

std::string weights_hash(const std::filesystem::path& weights_file) { return hex64(file_fnv1a(weights_file)); }

std::vector<std::string> run_class_names(const train::TrainConfig& config, const std::filesystem::path& data_root) {
  data::BenchmarkSpec spec = config.benchmark_spec();
  if (!data_root.empty()) spec.data_root = data_root;
  try {
    return data::benchmark_class_names(spec);
  } catch (const std::exception& e) {
    throw DataError(fmt::format("the class names of the run come from its dataset {} (under {}), which cannot be "
                                "read: {}", config.dataset, spec.data_root.string(), e.what()));
  }
}

InferenceSession::InferenceSession(TrainedRun& run)
    // The run's evaluation transform and arithmetic, exactly as `edge eval` extracts features
    // (eval_command.cpp), so that scores and thresholds agree with it.
    : run_(run),
      transform_(data::run_recipe(run.config.dataset, run.config.image_size, false, run.config.data).eval),
      mode_(run.config.compute_mode()) {
  model::AutocastScope autocast(mode_.bf16);
  if (!mode_.is_reference()) folded_.emplace(*run_.model, mode_);
}

torch::Tensor InferenceSession::input(const torch::Tensor& image_u8) const {
  data::SampleRng unused(0, 0, 0, 0);  // the evaluation transform draws nothing
  return transform_.apply(image_u8, unused);
}

torch::Tensor InferenceSession::logits(const torch::Tensor& inputs) {
  TORCH_CHECK(inputs.dim() == 4 && inputs.size(0) >= 1, "InferenceSession::logits: expected a batch [B, C, H, W], got ",
              inputs.sizes());
  model::AutocastScope autocast(mode_.bf16);
  train::EvalModeGuard eval_mode(run_.model);
  // forward_all, as extract_features runs it for dataset_logits.
  return run_.model->forward_all(inputs.to(train::model_device(run_.model))).logits.to(torch::kFloat32).cpu().contiguous();
}

torch::Tensor InferenceSession::logits(const data::Dataset& set, int64_t batch_size, int64_t workers,
                                       std::ostream* warnings, std::vector<int64_t>* kept) {
  model::AutocastScope autocast(mode_.bf16);
  return extract_features(run_.model, set, transform_, batch_size, workers, warnings, kept).logits;
}

torch::Tensor dataset_logits(TrainedRun& run, const data::Dataset& set, int64_t batch_size, int64_t workers,
                             std::ostream* warnings, std::vector<int64_t>* kept) {
  InferenceSession session(run);
  return session.logits(set, batch_size, workers, warnings, kept);
}

torch::Tensor predict_image_files(TrainedRun& run, const std::vector<std::filesystem::path>& files,
                                  int64_t batch_size, int64_t workers, bool skip_unreadable,
                                  std::ostream& warnings, std::vector<int64_t>& kept) {
  TORCH_CHECK(batch_size >= 1, "predict_image_files: batch size must be positive, got ", batch_size);
  kept.clear();
  if (files.empty()) throw UsageError("no input images");

  data::Dataset set;
  set.name = "inputs";
  set.images = data::file_source(files);
  std::ostringstream dropped;
  const torch::Tensor logits = [&] {
    try {
      return dataset_logits(run, set, batch_size, workers, &dropped, &kept);
    } catch (const DataError& e) {
      if (!kept.empty() || std::string(e.what()).find("no readable image") == std::string::npos) throw;
      return torch::Tensor();  // no readable file at all: reported below
    } catch (const c10::Error&) {
      if (!kept.empty()) throw;
      return torch::Tensor();  // no readable file at all: reported below
    }
  }();
  if (kept.size() < files.size()) {
    if (!skip_unreadable) {
      // The loader left the file out; decoding it again gives its own error, naming it.
      for (size_t i = 0, k = 0; i < files.size(); ++i) {
        if (k < kept.size() && kept[k] == int64_t(i)) {
          ++k;
          continue;
        }
        data::load_rgb_image(files[i]);
        throw DataError(fmt::format("{}: cannot be decoded", files[i].string()));  // decodes now: a flaky file
      }
    }
    warnings << dropped.str();
  }
  if (!logits.defined() || kept.empty()) throw DataError("no readable image among the inputs");
  return logits;
}

}  // namespace edge::eval
