#include "edge/eval/trained_run.h"

#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/content_hash.h"
#include "edge/common/error.h"
#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/data/fashion_lt.h"
#include "edge/data/image_io.h"
#include "edge/data/registry.h"
#include "edge/data/transforms.h"
#include "edge/eval/feature_cache.h"
#include "edge/eval/predict.h"
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
  if (config.dataset == "fashion-lt") {
    data::FashionLtParts none;
    none.id_train = none.id_val = none.id_test = none.oe_train = false;
    none.ood.clear();
    return data::build_fashion_lt(config.data, none).class_names;  // builds nothing, names only
  }
  const auto root = data_root.empty() ? config.data_root : data_root;
  try {
    return data::open_dataset(config.dataset, root, "val").class_names;
  } catch (const std::exception& e) {
    throw DataError(fmt::format("the class names of the run come from its dataset {} (under {}), which cannot be "
                                "read: {}", config.dataset, root.string(), e.what()));
  }
}

namespace {

// fashion-lt: the test set's own preprocessing, applied to files (see the header).
torch::Tensor fashion_lt_logits(TrainedRun& run, const std::vector<std::filesystem::path>& files, int64_t batch_size,
                                bool skip_unreadable, std::ostream& warnings, std::vector<int64_t>& kept) {
  constexpr int64_t side = data::kFashionLtSide;
  const bool bf16 = run.config.compute_mode().bf16;
  std::vector<torch::Tensor> parts;
  for (size_t start = 0; start < files.size(); start += size_t(batch_size)) {
    const size_t end = std::min(files.size(), start + size_t(batch_size));
    std::vector<torch::Tensor> images;
    for (size_t i = start; i < end; ++i) {
      torch::Tensor gray;
      try {
        gray = data::load_gray_image(files[i]).unsqueeze(0);  // [1, H, W]
      } catch (const DataError& e) {
        if (!skip_unreadable) throw;
        warnings << fmt::format("warning: skipping unreadable image ({}); left out", e.what()) << std::endl;
        continue;
      }
      if (gray.size(1) != side || gray.size(2) != side) gray = data::resize(gray, side, side);
      images.push_back(gray);
      kept.push_back(int64_t(i));
    }
    if (images.empty()) continue;
    data::ImageSet set{"images", torch::stack(images), {}};
    // The evaluation's own extraction (eval_command.cpp), so scores agree with `edge eval`.
    model::AutocastScope autocast(bf16);
    parts.push_back(
        extract_features(run.model, set, batch_size, data::kFashionLtMean, data::kFashionLtStd).logits);
  }
  if (parts.empty()) throw DataError("no readable image among the inputs");
  return torch::cat(parts).contiguous();
}

}  // namespace

torch::Tensor predict_image_files(TrainedRun& run, const std::vector<std::filesystem::path>& files,
                                  int64_t batch_size, int64_t workers, bool skip_unreadable,
                                  std::ostream& warnings, std::vector<int64_t>& kept) {
  TORCH_CHECK(batch_size >= 1, "predict_image_files: batch size must be positive, got ", batch_size);
  kept.clear();
  if (files.empty()) throw UsageError("no input images");
  if (run.config.dataset == "fashion-lt")
    return fashion_lt_logits(run, files, batch_size, skip_unreadable, warnings, kept);

  data::Dataset set;
  set.name = "inputs";
  set.images = data::file_source(files);
  std::ostringstream dropped;
  const torch::Tensor logits = [&] {
    try {
      return predict_logits(run.model, set, data::reference_eval_transform(run.config.image_size), batch_size,
                            workers, &dropped, &kept);
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
