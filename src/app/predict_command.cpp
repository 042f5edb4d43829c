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
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/app/commands.h"
#include "edge/common/error.h"
#include "edge/eval/calibration.h"
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

struct Prediction {
  std::string path;
  std::vector<std::pair<int64_t, double>> labels;  // (class, probability), most probable first
  std::vector<double> probabilities;               // every class
  double score = 0;
  std::string decision;                            // ID | OOD | uncalibrated
};

std::string json_line(const Prediction& p, const std::vector<std::string>& names, const std::string& score_name,
                      const std::optional<eval::Calibration>& cal) {
  nlohmann::json labels = nlohmann::json::array();
  for (const auto& [c, prob] : p.labels)
    labels.push_back({{"class", names[size_t(c)]}, {"index", c}, {"probability", prob}});
  nlohmann::json j{{"path", p.path},
                   {"labels", labels},
                   {"probabilities", p.probabilities},
                   {"score_fn", score_name},
                   {"score", p.score},
                   {"threshold", cal ? nlohmann::json(cal->threshold) : nlohmann::json(nullptr)},
                   {"decision", p.decision}};
  return j.dump() + "\n";
}

std::string table(const std::vector<Prediction>& preds, const std::vector<std::string>& names,
                  const std::string& score_name, const std::optional<eval::Calibration>& cal, double label_threshold) {
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

  eval::TrainedRun run = eval::open_trained_run(p.checkpoint);
  const std::optional<eval::Calibration> cal = eval::read_calibration(p.checkpoint);
  if (cal && cal->weights_hash != run.weights_hash)
    throw DataError(fmt::format("{}: mismatched checkpoint: calibrated for weights {}, but {} has {}; run `edge "
                                "calibrate` again", eval::calibration_file(p.checkpoint).string(), cal->weights_hash,
                                (p.checkpoint / "model.pt").string(), run.weights_hash));
  if (!cal && p.require_calibration)
    throw DataError(fmt::format("--require_calibration: {} does not exist; run `edge calibrate --checkpoint {}`",
                                eval::calibration_file(p.checkpoint).string(), p.checkpoint.string()));
  score::ScoreKind kind = score::ScoreKind::EnergySum;
  score::LogitScoreOptions score_options;
  if (cal) {
    kind = eval::parse_deploy_score(cal->score, eval::calibration_file(p.checkpoint).string());
    score_options = cal->score_options;
    if (!p.score_fn.empty() && eval::parse_deploy_score(p.score_fn) != kind)
      throw UsageError(fmt::format("--score_fn {}: the run is calibrated for {} (drop --score_fn, or calibrate {})",
                                   p.score_fn, cal->score, p.score_fn));
  } else if (!p.score_fn.empty()) {
    kind = eval::parse_deploy_score(p.score_fn);
  }
  const std::vector<std::string> names = cal ? cal->class_names : eval::run_class_names(run.config);
  if (int64_t(names.size()) != run.config.model.num_classes)
    throw DataError(fmt::format("{} class names for a model with {} classes", names.size(),
                                run.config.model.num_classes));

  const std::vector<fs::path> files = expand_inputs(p.inputs);
  train::set_threads(p.threads > 0 ? p.threads : run.config.threads);
  std::vector<int64_t> kept;
  std::ostringstream warnings;
  const int64_t batch = p.batch_size > 0 ? p.batch_size : run.config.eval_batch_size;
  const torch::Tensor logits =
      eval::predict_image_files(run, files, batch, p.workers, p.skip_unreadable, warnings, kept);
  const torch::Tensor scores = score::compute_score(kind, logits, score_options).contiguous();
  const torch::Tensor probs = torch::sigmoid(logits.to(torch::kFloat64)).contiguous();

  std::vector<Prediction> preds;
  const int64_t C = probs.size(1);
  for (size_t r = 0; r < kept.size(); ++r) {
    Prediction pr;
    pr.path = files[size_t(kept[r])].string();
    const double* row = probs.data_ptr<double>() + int64_t(r) * C;
    pr.probabilities.assign(row, row + C);
    for (int64_t c = 0; c < C; ++c)
      if (row[c] >= p.label_threshold) pr.labels.emplace_back(c, row[c]);
    std::stable_sort(pr.labels.begin(), pr.labels.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (p.top > 0 && int64_t(pr.labels.size()) > p.top) pr.labels.resize(size_t(p.top));
    pr.score = scores.data_ptr<double>()[r];
    if (!std::isfinite(pr.score))
      throw NumericError(fmt::format("{}: score {} is not finite ({})", pr.path, score::score_name(kind), pr.score));
    pr.decision = !cal ? "uncalibrated" : pr.score >= cal->threshold ? "ID" : "OOD";
    preds.push_back(std::move(pr));
  }

  // Everything is computed before anything is printed: an error leaves no partial output.
  std::string text;
  if (p.format == "jsonl")
    for (const auto& pr : preds) text += json_line(pr, names, score::score_name(kind), cal);
  else
    text = table(preds, names, score::score_name(kind), cal, p.label_threshold);
  err << warnings.str();
  out << text << std::flush;
  return int64_t(files.size() - kept.size());
}

}  // namespace edge::app
