#include "edge/eval/deployment.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::eval {

namespace {

// The score to decide with: the calibration's (a different --score_fn is refused, as its
// threshold would be meaningless), else `score_fn`, else energy_sum.
void choose_score(DeployedRun& d, const std::filesystem::path& run_dir, const std::string& score_fn) {
  if (!score_fn.empty()) parse_deploy_score(score_fn);  // a bad name is an error even when calibrated
  if (d.calibration) {
    d.kind = parse_deploy_score(d.calibration->score, calibration_file(run_dir).string());
    d.score_options = d.calibration->score_options;
    if (!score_fn.empty() && parse_deploy_score(score_fn) != d.kind)
      throw UsageError(fmt::format("--score_fn {}: the run is calibrated for {} (drop --score_fn, or calibrate {})",
                                   score_fn, d.calibration->score, score_fn));
  } else if (!score_fn.empty()) {
    d.kind = parse_deploy_score(score_fn);
  }
}

}  // namespace

DeployedRun open_deployed_run(const std::filesystem::path& run_dir, const std::string& score_fn,
                              bool require_calibration) {
  DeployedRun d;
  d.run = open_trained_run(run_dir);
  d.calibration = read_calibration(run_dir);
  const auto& cal = d.calibration;
  if (cal && cal->weights_hash != d.run.weights_hash)
    throw DataError(fmt::format("{}: mismatched checkpoint: calibrated for weights {}, but {} has {}; run `edge "
                                "calibrate` again", calibration_file(run_dir).string(), cal->weights_hash,
                                (run_dir / "model.pt").string(), d.run.weights_hash));
  if (!cal && require_calibration)
    throw DataError(fmt::format("--require_calibration: {} does not exist; run `edge calibrate --checkpoint {}`",
                                calibration_file(run_dir).string(), run_dir.string()));
  choose_score(d, run_dir, score_fn);
  d.class_names = cal ? cal->class_names : run_class_names(d.run.config);
  if (int64_t(d.class_names.size()) != d.run.config.model.num_classes)
    throw DataError(fmt::format("{}: {} class names for a model with {} classes{}",
                                (cal ? calibration_file(run_dir) : run_dir / "config.json").string(),
                                d.class_names.size(), d.run.config.model.num_classes,
                                cal ? "; run `edge calibrate` again" : " (its dataset's class list changed)"));
  return d;
}

std::vector<Prediction> predictions(const DeployedRun& d, const torch::Tensor& logits,
                                    const std::vector<std::string>& paths, double label_threshold, int64_t top) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(0) == int64_t(paths.size()),
              "predictions: expected logits [", paths.size(), ", C], got ", logits.sizes());
  const torch::Tensor scores = score::compute_score(d.kind, logits, d.score_options).to(torch::kFloat64).contiguous();
  const torch::Tensor probs = torch::sigmoid(logits.to(torch::kFloat64)).contiguous();
  const int64_t C = probs.size(1);
  std::vector<Prediction> out;
  out.reserve(paths.size());
  for (size_t r = 0; r < paths.size(); ++r) {
    Prediction pr;
    pr.path = paths[r];
    const double* row = probs.data_ptr<double>() + int64_t(r) * C;
    pr.probabilities.assign(row, row + C);
    for (int64_t c = 0; c < C; ++c)
      if (row[c] >= label_threshold) pr.labels.emplace_back(c, row[c]);
    std::stable_sort(pr.labels.begin(), pr.labels.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (top > 0 && int64_t(pr.labels.size()) > top) pr.labels.resize(size_t(top));
    pr.score = scores.data_ptr<double>()[r];
    if (!std::isfinite(pr.score))
      throw NumericError(fmt::format("{}: score {} is not finite ({})", pr.path, d.score_name(), pr.score));
    pr.decision = !d.calibration ? "uncalibrated" : pr.score >= d.calibration->threshold ? "ID" : "OOD";
    out.push_back(std::move(pr));
  }
  return out;
}

nlohmann::json prediction_json(const DeployedRun& d, const Prediction& p) {
  nlohmann::json labels = nlohmann::json::array();
  for (const auto& [c, prob] : p.labels)
    labels.push_back({{"class", d.class_names[size_t(c)]}, {"index", c}, {"probability", prob}});
  const auto& cal = d.calibration;
  return {{"path", p.path},
          {"labels", labels},
          {"probabilities", p.probabilities},
          {"score_fn", d.score_name()},
          {"score", p.score},
          {"threshold", cal ? nlohmann::json(cal->threshold) : nlohmann::json(nullptr)},
          {"decision", p.decision}};
}

}  // namespace edge::eval
