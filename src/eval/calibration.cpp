#include "edge/eval/calibration.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "edge/common/json_fields.h"

namespace edge::eval {

TprThreshold tpr_threshold(const std::vector<double>& id_scores, double tpr) {
  if (!(tpr > 0.0 && tpr <= 1.0)) throw UsageError(fmt::format("--tpr must be in (0, 1], got {}", tpr));
  const int64_t n = static_cast<int64_t>(id_scores.size());
  if (n == 0) throw DataError("no ID scores to calibrate on");
  for (double s : id_scores)
    if (!std::isfinite(s)) throw NumericError(fmt::format("an ID score is not finite ({}); cannot calibrate", s));
  const double pn = std::round(tpr * double(n) * 1e9) / 1e9;
  const int64_t k = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(pn)), 1, n);
  std::vector<double> sorted = id_scores;
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<double>());
  TprThreshold t;
  t.threshold = sorted[size_t(k - 1)];
  t.rank = k;
  const auto at_least = std::count_if(id_scores.begin(), id_scores.end(), [&](double s) { return s >= t.threshold; });
  t.achieved_tpr = double(at_least) / double(n);
  return t;
}

void to_json(nlohmann::json& j, const Calibration& c) {
  j = nlohmann::json{{"score", c.score},
                     {"score_options", {{"topk", c.score_options.topk}, {"temperature", c.score_options.temperature}}},
                     {"tpr", c.tpr},
                     {"threshold", c.threshold},
                     {"achieved_tpr", c.achieved_tpr},
                     {"n", c.n},
                     {"rule", "ID iff score >= threshold; threshold = k-th largest ID score, k = ceil(tpr * n)"},
                     {"dataset", c.dataset},
                     {"split", c.split},
                     {"weights", "model.pt"},
                     {"weights_hash", c.weights_hash},
                     {"created", c.created},
                     {"class_names", c.class_names}};
}

void from_json(const nlohmann::json& j, Calibration& c) {
  read_json_field(j, "score", c.score);
  read_json_field(j.at("score_options"), "topk", c.score_options.topk);
  read_json_field(j.at("score_options"), "temperature", c.score_options.temperature);
  read_json_field(j, "tpr", c.tpr);
  read_json_field(j, "threshold", c.threshold);
  read_json_field(j, "achieved_tpr", c.achieved_tpr);
  read_json_field(j, "n", c.n);
  read_json_field(j, "dataset", c.dataset);
  read_json_field(j, "split", c.split);
  read_json_field(j, "weights_hash", c.weights_hash);
  read_json_field(j, "created", c.created);
  read_json_field(j, "class_names", c.class_names);
}

std::filesystem::path calibration_file(const std::filesystem::path& run_dir) { return run_dir / "calibration.json"; }

void write_calibration(const std::filesystem::path& run_dir, const Calibration& c) {
  write_text_atomically(calibration_file(run_dir), nlohmann::json(c).dump(2) + "\n");
}

std::optional<Calibration> read_calibration(const std::filesystem::path& run_dir) {
  const auto file = calibration_file(run_dir);
  if (!std::filesystem::exists(file)) return std::nullopt;
  Calibration c = with_json_errors([&] { return nlohmann::json::parse(read_text_file(file)).get<Calibration>(); },
                                   [&](const char* what) {
                                     return fmt::format("{}: malformed calibration ({}); run `edge calibrate` again",
                                                        file.string(), what);
                                   });
  try {
    parse_deploy_score(c.score, file.string());
  } catch (const UsageError& e) {
    throw DataError(e.what());
  }
  return c;
}

std::vector<std::string> deploy_score_names() {
  std::vector<std::string> names;
  for (const auto& n : score::score_names())
    if (score::is_logit_score(score::parse_score(n))) names.push_back(n);
  return names;
}

score::ScoreKind parse_deploy_score(const std::string& name, const std::string& flag) {
  const auto allowed = fmt::format("{}", fmt::join(deploy_score_names(), ", "));
  score::ScoreKind kind;
  try {
    kind = score::parse_score(name);
  } catch (const UsageError&) {
    throw UsageError(fmt::format("{}: unknown score '{}' (allowed: {})", flag, name, allowed));
  }
  if (!score::is_logit_score(kind))
    throw UsageError(fmt::format("{}: score '{}' needs more than one image's logits (fitted on training data or "
                                 "input gradients); allowed: {}", flag, name, allowed));
  return kind;
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace edge::eval
