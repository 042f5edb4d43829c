// The deployment threshold of an OOD score: calibrated on labelled ID data at a target
// true-positive rate (ID = positive), stored as RUN_DIR/calibration.json.
//
// Quantile rule: with n ID scores and target TPR p, let k = ceil(p * n) (at least 1; p * n
// is rounded to 9 decimals first so that e.g. 0.95 * 1000 is 950, not 950.0000000000001);
// the threshold t is the k-th largest score. An input is ID when its score >= t. Without
// ties exactly k of the n ID scores are >= t, so the achieved TPR k/n lies in
// [p, p + 1/n); ties at t raise it (every tied score counts as ID). This is numpy's
// -np.quantile(-s, p, method="inverted_cdf").
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "edge/score/ood_scores.h"

namespace edge::eval {

struct TprThreshold {
  double threshold = 0;
  int64_t rank = 0;           // k: the threshold is the k-th largest score
  double achieved_tpr = 0;    // fraction of the scores >= threshold
};

// The rule above. Throws UsageError unless 0 < tpr <= 1, DataError for no scores,
// NumericError for a non-finite score.
TprThreshold tpr_threshold(const std::vector<double>& id_scores, double tpr);

struct Calibration {
  std::string score;                     // canonical score name (score::score_name)
  score::LogitScoreOptions score_options;
  double tpr = 0.95;                     // requested
  double threshold = 0;
  double achieved_tpr = 0;
  int64_t n = 0;                         // ID images scored
  std::string dataset;                   // ID data it was computed on, and its split
  std::string split;
  std::string weights_hash;              // of RUN_DIR/model.pt (trained_run.h weights_hash)
  std::string created;                   // UTC, ISO 8601
  std::vector<std::string> class_names;  // the run's classes (so predict needs no dataset)
};

void to_json(nlohmann::json& j, const Calibration& c);
void from_json(const nlohmann::json& j, Calibration& c);

std::filesystem::path calibration_file(const std::filesystem::path& run_dir);
// Writes RUN_DIR/calibration.json atomically, replacing an earlier calibration.
void write_calibration(const std::filesystem::path& run_dir, const Calibration& c);
// Reads RUN_DIR/calibration.json; nullopt if absent, DataError naming the file if malformed.
std::optional<Calibration> read_calibration(const std::filesystem::path& run_dir);

// The scores calibrate and predict accept: those computed from one image's logits.
// Throws UsageError naming the score and the allowed ones otherwise (or if unknown).
score::ScoreKind parse_deploy_score(const std::string& name, const std::string& flag = "--score_fn");
std::vector<std::string> deploy_score_names();

// The current time, UTC, ISO 8601 (e.g. 2026-11-28T10:09:05Z).
std::string utc_now_iso8601();

}  // namespace edge::eval
