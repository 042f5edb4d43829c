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

// `edge train`: trains and writes the run directory:
//   config.json      the resolved configuration plus provenance (versions, git commit, seed)
//   train_log.jsonl  one JSON line per epoch (every loss term, lr, validation mAP, time)
//   checkpoints/last.ckpt, checkpoints/best.ckpt   resumable training state
//   model.pt, model_best.pt   final / best-validation weights as PyTorch state_dicts
//   summary.json     the end-of-run summary
// `live_progress` draws an in-place progress bar (for terminals).
std::vector<train::EpochStats> run_train(const train::TrainConfig& config, const std::filesystem::path& run_dir,
                                         std::ostream& log, bool live_progress = false);

// `edge train --resume RUN_DIR`: continues an interrupted run from checkpoints/last.ckpt
// with the run's own configuration.
std::vector<train::EpochStats> resume_train(const std::filesystem::path& run_dir, std::ostream& log,
                                            bool live_progress = false);

struct EvalParams {
  std::filesystem::path checkpoint;          // run directory
  std::vector<std::string> ood_data = {"bag", "textures", "noise"};
  std::string score_fn = "energy_sum";
  std::vector<int64_t> tail_j = {0, 1, 2, 3, 4};
  std::filesystem::path out;                 // default: RUN_DIR/eval
  int64_t threads = 0;
  std::string precision;                     // fp32 | bf16; "" = the run's setting
  std::string channels_last;                 // true | false; "" = the run's setting
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

struct InferParams {
  std::string arch;                   // required with --pretrained; with --checkpoint, the run's (or empty)
  std::filesystem::path pretrained;   // torchvision state_dict (.pth) for the backbone
  std::filesystem::path checkpoint;   // run directory written by `edge train`
  std::filesystem::path input;        // NCHW float tensor written by Python's torch.save
  std::filesystem::path output;       // where the result goes (torch.load reads it)
  std::string features;               // pooled | map | hidden | logits; "" = logits with --checkpoint,
                                      // pooled with --pretrained (whose clssimp head is untrained)
  int64_t batch_size = 64;
  int64_t threads = 0;                // 0 = all cores
  uint64_t seed = 0;                  // initialises the untrained head with --pretrained
};

// `edge infer`: runs the model in eval mode on the input tensor as it is (no
// normalisation: apply the training one, e.g. ImageNet mean/std for pretrained
// backbones, before torch.save) and writes the selected output with torch::pickle_save.
// Returns the tensor written.
torch::Tensor run_infer(const InferParams& params, std::ostream& out);

// Parses argv and runs the subcommand. Returns the process exit code: 0 success,
// 2 usage error, 1 any other error (one line on `err`).
int cli_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace edge::app
