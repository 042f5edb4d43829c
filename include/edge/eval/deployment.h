// A trained run set up for deployment, as `edge predict` and `edge serve` both use it: the
// model, its calibration (checked against the weights), the OOD score it decides with and
// the class names; and the per-image record both print (logits -> labels above a
// threshold, every class probability, the score, the ID/OOD decision), built by one
// function so that the command and the service can never disagree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "edge/eval/calibration.h"
#include "edge/eval/trained_run.h"
#include "edge/score/ood_scores.h"

namespace edge::eval {

struct DeployedRun {
  TrainedRun run;
  std::optional<Calibration> calibration;  // nullopt: decisions are "uncalibrated"
  score::ScoreKind kind = score::ScoreKind::EnergySum;
  score::LogitScoreOptions score_options;
  std::vector<std::string> class_names;

  std::string score_name() const { return score::score_name(kind); }
};

// Opens RUN_DIR for deployment. The score is the calibration's; `score_fn` ("" = the
// calibration's, energy_sum without one) must agree with it. Throws DataError when the
// calibration belongs to other weights, when `require_calibration` and there is none, or
// when the class names do not match the model; UsageError for a bad `score_fn`.
DeployedRun open_deployed_run(const std::filesystem::path& run_dir, const std::string& score_fn = "",
                              bool require_calibration = false);

struct Prediction {
  std::string path;
  std::vector<std::pair<int64_t, double>> labels;  // (class, probability), most probable first
  std::vector<double> probabilities;               // every class
  double score = 0;
  std::string decision;                            // ID | OOD | uncalibrated
};

// One record per row of `logits` [N, C] (paths[i] names row i): a label is predicted when
// its sigmoid >= `label_threshold`, at most `top` of them (0 = all). Throws NumericError
// naming the path when a score is not finite.
std::vector<Prediction> predictions(const DeployedRun& d, const torch::Tensor& logits,
                                    const std::vector<std::string>& paths, double label_threshold, int64_t top);

// The record as `edge predict --format jsonl` prints it (one object per image).
nlohmann::json prediction_json(const DeployedRun& d, const Prediction& p);

}  // namespace edge::eval
