// `edge predict`: a trained run applied to image files, the deployment path: predicted
// labels, the OOD score and the ID/OOD decision against the run's calibration.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <numeric>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "edge/app/commands.h"
#include "edge/common/error.h"
#include "edge/eval/deployment.h"
#include "edge/eval/trained_run.h"

namespace edge::app {

namespace {

namespace fs = std::filesystem;

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

// Files as given; a folder contributes its own jpg/jpeg/png/bmp files (not subfolders), sorted.
std::vector<fs::path> expand_inputs(const std::vector<fs::path>& inputs) {
  if (inputs.empty()) throw UsageError("predict: give at least one IMAGE or DIR");
  std::vector<fs::path> files;
  for (const auto& in : inputs) {
    if (fs::is_directory(in)) {
      std::vector<fs::path> found;
      for (const auto& e : fs::directory_iterator(in))
        if (e.is_regular_file() && is_image_file(e.path())) found.push_back(e.path());
      if (found.empty()) throw DataError(fmt::format("{}: no jpg/jpeg/png/bmp image in this folder", in.string()));
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (!fs::exists(in)) {
      throw DataError(fmt::format("{}: no such image file or folder", in.string()));
    } else {
      files.push_back(in);
    }
  }
  return files;
}

std::string table(const std::vector<eval::Prediction>& preds, const eval::DeployedRun& d, double label_threshold) {
  const std::vector<std::string>& names = d.class_names;
  const std::string score_name = d.score_name();
  const std::optional<eval::Calibration>& cal = d.calibration;
  size_t width = 4;
  for (const auto& p : preds) width = std::max(width, p.path.size());
  std::string s = fmt::format("{:<{}}  {:<12}  {:>12}  labels (sigmoid >= {})\n", "path", width, "decision",
                              score_name, label_threshold);
  for (const auto& p : preds) {
    std::vector<std::string> labels;
    for (const auto& [c, prob] : p.labels) labels.push_back(fmt::format("{} {:.3f}", names[size_t(c)], prob));
    s += fmt::format("{:<{}}  {:<12}  {:>12.5f}  {}\n", p.path, width, p.decision, p.score,
                     labels.empty() ? "-" : fmt::format("{}", fmt::join(labels, ", ")));
  }
  if (cal)
    s += fmt::format("decision: ID iff {} >= {:.6g} (calibrated at TPR {} on {} {} images, {})\n", score_name,
                     cal->threshold, cal->tpr, cal->n, cal->dataset, cal->created);
  else
    s += "decision: uncalibrated (run `edge calibrate --checkpoint RUN` to set the ID/OOD threshold)\n";
  return s;
}

}  // namespace

int64_t run_predict(const PredictParams& p, std::ostream& out, std::ostream& err) {
  if (p.format != "table" && p.format != "jsonl")
    throw UsageError(fmt::format("--format: expected table or jsonl, got '{}'", p.format));
  if (!(p.label_threshold >= 0.0 && p.label_threshold <= 1.0))
    throw UsageError(fmt::format("--label_threshold must be in [0, 1], got {}", p.label_threshold));
  if (p.top < 0) throw UsageError(fmt::format("--top must be >= 0, got {}", p.top));
  if (p.batch_size < 0) throw UsageError(fmt::format("--batch_size must be >= 0, got {}", p.batch_size));
  if (!p.score_fn.empty()) eval::parse_deploy_score(p.score_fn);
  if (p.inputs.empty()) throw UsageError("predict: give at least one IMAGE or DIR");

  eval::DeployedRun d = eval::open_deployed_run(p.checkpoint, p.score_fn, p.require_calibration);
  const std::vector<fs::path> files = expand_inputs(p.inputs);
  train::set_threads(p.threads > 0 ? p.threads : d.run.config.threads);
  std::vector<int64_t> kept;
  std::ostringstream warnings;
  const int64_t batch = p.batch_size > 0 ? p.batch_size : d.run.config.eval_batch_size;
  const torch::Tensor logits =
      eval::predict_image_files(d.run, files, batch, p.workers, p.skip_unreadable, warnings, kept);
  std::vector<std::string> paths;
  for (const int64_t k : kept) paths.push_back(files[size_t(k)].string());
  const std::vector<eval::Prediction> preds = eval::predictions(d, logits, paths, p.label_threshold, p.top);

  // Everything is computed before anything is printed: an error leaves no partial output.
  std::string text;
  if (p.format == "jsonl")
    for (const auto& pr : preds) text += eval::prediction_json(d, pr).dump() + "\n";
  else
    text = table(preds, d, p.label_threshold);
  err << warnings.str();
  out << text << std::flush;
  return int64_t(files.size() - kept.size());
}

}  // namespace edge::app
