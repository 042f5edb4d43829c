// The photo benchmark's results: per-run reports aggregated over seeds into RESULTS.md
// tables (mean +- sd) and the answer to the benchmark's question. Private to src/app.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "edge/app/commands.h"

namespace edge::app {

// One trained and evaluated run: reports[0] is JointEnergy, then the candidate scores.
struct PhotoRun {
  std::string backbone;  // PhotoBackbone::key
  std::string mode;      // training objective
  int64_t seed = 0;
  double train_seconds = 0;
  std::vector<eval::OodReport> reports;
};

struct PhotoResultsHeader {
  std::string command_line;
  std::string machine;       // CPU and arithmetic, in words
  double wall_seconds = 0;
  int64_t seeds = 0;
  std::string sizes;         // the benchmark's set sizes, in words
};

// RESULTS.md: the JointEnergy table per backbone, the three best other scores, and the
// answer (EDGE against BCE and OE on the near-OOD set and tail-only ID, mAP against BCE;
// pretrained against scratch), every figure a mean +- sd over seeds.
std::string format_photo_results(const PhotoResultsHeader& header, const std::vector<PhotoBackbone>& backbones,
                                 const std::vector<std::string>& modes, const std::vector<PhotoRun>& runs);

// The line after which a results file holds hand-written text that a rerun keeps.
inline constexpr const char* kHandWrittenMarker =
    "<!-- hand-written below: kept when edge bench-photo rewrites this file -->";

// `generated` followed by the hand-written part of `previous` (from the marker on), if any.
std::string keep_hand_written(const std::string& generated, const std::string& previous);

// Every run's reports (fractions), for results.json.
nlohmann::json photo_results_json(const PhotoResultsHeader& header, const std::vector<PhotoRun>& runs);

}  // namespace edge::app
