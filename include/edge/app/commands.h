// Every CLI subcommand as a library function, so tests drive them in-process.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "edge/eval/ood_report.h"
#include "edge/train/train_config.h"
#include "edge/train/trainer.h"

namespace edge::app {

// `edge train`: trains and writes RUN_DIR/{config.json, model.pt, train_log.jsonl}.
std::vector<train::EpochStats> run_train(const train::TrainConfig& config, const std::filesystem::path& run_dir,
                                         std::ostream& log);

struct EvalParams {
  std::filesystem::path checkpoint;          // run directory
  std::vector<std::string> ood_data = {"bag", "textures", "noise"};
  std::string score_fn = "energy_sum";
  std::vector<int64_t> tail_j = {0, 1, 2, 3, 4};
  std::filesystem::path out;                 // default: RUN_DIR/eval
  int64_t threads = 0;
};

// `edge eval`: prints the table and writes eval.json and eval.csv into the output folder.
eval::OodReport run_eval(const EvalParams& params, std::ostream& out);

struct DemoParams {
  bool quick = false;
  std::filesystem::path out = "runs/demo";
  train::TrainConfig base;  // shared settings of both runs (score is set per run)
  bool base_overridden = false;
};

// The demo's default training settings (full or --quick).
train::TrainConfig demo_config(bool quick);

// `edge demo`: trains BCE and EDGE, evaluates both with JointEnergy and prints the
// comparison table; writes demo.json, demo.csv and demo.md into `out`.
void run_demo(const DemoParams& params, std::ostream& out);

// Formats the BCE-vs-EDGE comparison table.
std::string format_comparison(const eval::OodReport& bce, const eval::OodReport& edge);

// Parses argv and runs the subcommand. Returns the process exit code: 0 success,
// 2 usage error, 1 any other error (one line on `err`).
int cli_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace edge::app
