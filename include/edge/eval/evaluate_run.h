// Evaluating a trained run: `edge eval` as a library function.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "edge/eval/ood_report.h"
#include "edge/score/scorer.h"

namespace edge::eval {

struct EvalParams {
  std::filesystem::path checkpoint;          // run directory
  std::vector<std::string> ood_data;  // registry NAME[:PATH]s (the built-in run's own too); empty: the dataset's default OOD sets
  int64_t workers = 2;         // input-pipeline threads
  std::filesystem::path data_root;  // registry sets' default locations; "" = the run's --data_root
  int64_t fit_max_images = 0;  // registry datasets: training images the scores fit on (0 = all; else spread evenly)
  std::string score_fn = "energy_sum";       // comma-separated list of scores (score::score_names())
  std::vector<int64_t> tail_j = {0, 1, 2, 3, 4};
  std::filesystem::path out;                 // default: RUN_DIR/eval
  int64_t threads = 0;
  std::string device = "cpu";                // --device cpu | cuda | cuda:N
  std::string fpr_convention = "id_positive";  // id_positive (reference, nearest 0.95) | ood_positive (OpenOOD)
  score::ScoreOptions score_options;
  std::filesystem::path save_scores;         // "" = do not write the raw scores
  std::filesystem::path cache_dir;           // "" = RUN_DIR/cache/features
  bool no_cache = false;                     // extract every set again, write nothing to the cache
  std::string precision;                     // fp32 | bf16 | auto; "" = the run's setting
  std::string channels_last;                 // true | false | auto; "" = the run's setting
};

// Rebuilds the run's ID test set (and the ID sets the fitted scores fit on) from its
// config.json and opens every OOD set, all through the input pipeline with the run's
// evaluation transform; extracts each set's network outputs once (cached on disk, keyed by
// the checkpoint, set, transform, arithmetic and content); computes every requested score;
// prints one table per score (plus a summary for several) on `out` and writes eval.json
// (everything), eval.csv, eval.md and eval.html into the output folder, each atomically.
// Returns one report per score, in the order requested. Throws UsageError naming the flag,
// DataError naming the file, NumericError for a non-finite score.
std::vector<OodReport> evaluate_run(const EvalParams& params, std::ostream& out);

}  // namespace edge::eval
