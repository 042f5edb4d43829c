// Every CLI subcommand as a library function, so tests drive them in-process.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "edge/data/materialise.h"
#include "edge/eval/calibration.h"
#include "edge/eval/evaluate_run.h"
#include "edge/eval/ood_report.h"
#include "edge/score/scorer.h"
#include "edge/select/oe_selection.h"
#include "edge/serve/server.h"
#include "edge/train/train_config.h"
#include "edge/train/trainer.h"

namespace edge::app {

// How `edge train` runs (launch settings, not part of the run's configuration, so a run may
// resume on another device or number of processes). Data-parallel training starts when the
// torchrun variables RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT say WORLD_SIZE > 1:
// every process trains its shard of each global batch, rank 0 alone writes the run directory.
struct TrainLaunch {
  std::string device = "cpu";    // --device cpu | cuda | cuda:N ("cuda" = cuda:LOCAL_RANK)
  int64_t dist_timeout_s = 300;  // --dist_timeout: bound on the rendezvous and on every collective
};

// `edge train`: trains and writes the run directory:
//   config.json      the resolved configuration plus provenance (versions, git commit, seed)
//   train_log.jsonl  one JSON line per epoch (every loss term, lr, validation mAP, time)
//   checkpoints/last.ckpt, checkpoints/best.ckpt   resumable training state
//   model.pt, model_best.pt   final / best-validation weights as PyTorch state_dicts
//   summary.json     the end-of-run summary
// `live_progress` draws an in-place progress bar (for terminals).
std::vector<train::EpochStats> run_train(const train::TrainConfig& config, const std::filesystem::path& run_dir,
                                         std::ostream& log, bool live_progress = false,
                                         const TrainLaunch& launch = {});

// `edge train --resume RUN_DIR`: continues an interrupted run from checkpoints/last.ckpt
// with the run's own configuration.
std::vector<train::EpochStats> resume_train(const std::filesystem::path& run_dir, std::ostream& log,
                                            bool live_progress = false, const TrainLaunch& launch = {});

using EvalParams = eval::EvalParams;  // eval/evaluate_run.h

// `edge eval`: eval::evaluate_run.
std::vector<eval::OodReport> run_eval(const EvalParams& params, std::ostream& out);

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

struct PhotoBenchParams {
  bool quick = false;                   // a smoke version (small sets, 1 seed, 1 epoch): the integration test
  int64_t seeds = 3;                    // training seeds per (backbone, mode); the benchmark itself is fixed (data seed 0)
  std::filesystem::path out = "runs/photo";
  std::filesystem::path results;        // the table; "" = OUT/RESULTS.md
  std::string dataset = "cifar-lt";     // NAME[:PATH] of the photo benchmark
  std::filesystem::path pretrained;     // mobilenet_v2 ImageNet state_dict (torchvision .pth), required
  std::vector<std::string> modes = {"normal", "OE", "energyML", "joint"};
  // Scores besides JointEnergy; the table shows the three with the lowest mean FPR95.
  std::string candidate_scores = "energy_max,max_logit,msp,prob_sum,mahalanobis_max,knn";
  int64_t threads = 0;
  std::string command_line;             // recorded in the results
};

// The two backbones of the photo benchmark with their training recipes: mobilenet_v2
// fine-tuned from ImageNet weights, small_resnet (RGB) from scratch; at the full or --quick sizes.
struct PhotoBackbone {
  std::string label;     // "mobilenet_v2 (ImageNet)", "small_resnet (scratch)"
  std::string key;       // run folder name
  train::TrainConfig base;
};
std::vector<PhotoBackbone> photo_backbones(const PhotoBenchParams& params);

// `edge bench-photo`: trains every backbone x mode x seed on the photo benchmark (a run whose
// folder already holds this plan's finished run is reused), evaluates each with JointEnergy and
// the candidate scores, and writes the mean +- sd table (RESULTS.md) and results.json.
void run_photo_bench(const PhotoBenchParams& params, std::ostream& out);

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

struct DataVerifyParams {
  std::string dataset;                // --dataset NAME[:PATH] (data/registry.h)
  std::filesystem::path data_root = "data";
  std::string oe_data;                // --oe_data NAME[:PATH] (optional)
  std::vector<std::string> ood_data;  // --ood_data NAME[:PATH],... (optional)
  int64_t threads = 2;                // decoding threads
  data::FashionLtOptions sizes;       // the built-in benchmarks' sizes, rho, seed and folders
  bool allow_outside_paths = false;   // --allow_outside_paths (data/readers.h)
};

// `edge data verify`: opens every split of the benchmark, decodes every image and prints,
// per set, its image count and (ID sets) images per class from head to tail. Every
// problem (an unreadable, corrupt or missing image; a malformed label row; labels that do
// not match the images) is printed as one line "problem: ..." naming the file. Returns
// the number of problems; the CLI exits 1 when it is not 0.
int64_t run_data_verify(const DataVerifyParams& params, std::ostream& out);

struct DataMaterialiseParams {
  std::string dataset;                // --dataset NAME[:PATH]: a built-in benchmark, or any ID set
  std::filesystem::path data_root;    // --data_root
  std::filesystem::path out;          // --out: a new folder
  data::FashionLtOptions sizes;       // the built-in benchmarks' sizes, rho, seed and folders
  std::string oe_data;                // --oe_data; "" = the dataset's default OE set
  std::vector<std::string> ood_data;  // --ood_data; empty = the dataset's default OOD sets
  bool allow_outside_paths = false;   // --allow_outside_paths (data/readers.h)
};

// `edge data materialise`: builds / opens the benchmark and writes it as PNG files, manifests
// and image folders (data/materialise.h); prints the flags that read it back.
data::MaterialisedBenchmark run_data_materialise(const DataMaterialiseParams& params, std::ostream& out);

struct CalibrateParams {
  std::filesystem::path checkpoint;  // run directory
  std::string dataset;               // ID set NAME[:PATH] with the run's number of classes; "" = the run's own
  std::filesystem::path data_root;   // "" = the run's --data_root
  double tpr = 0.95;                 // target fraction of ID images kept as ID
  std::string score_fn = "energy_sum";  // a logit score (eval/calibration.h deploy_score_names)
  score::LogitScoreOptions score_options;
  int64_t workers = 2;               // input-pipeline threads (registry datasets)
  int64_t threads = 0;               // 0 = the run's setting
  std::filesystem::path save_scores; // "" = do not write the ID scores (one per line)
};

// `edge calibrate`: scores the labelled ID validation split with the run's model and writes
// the threshold at the requested TPR into RUN_DIR/calibration.json (eval/calibration.h).
eval::Calibration run_calibrate(const CalibrateParams& params, std::ostream& out);

struct PredictParams {
  std::filesystem::path checkpoint;          // run directory
  std::vector<std::filesystem::path> inputs; // image files and folders (a folder: its images, sorted)
  std::string format = "table";              // table | jsonl
  double label_threshold = 0.5;              // a label is predicted when sigmoid(z_c) >= this
  int64_t top = 0;                           // at most this many labels per image (0 = all)
  std::string score_fn;                      // "" = the calibration's, else energy_sum
  bool require_calibration = false;          // error instead of an "uncalibrated" decision
  bool skip_unreadable = false;              // warn and leave out unreadable images (exit code 1)
  int64_t batch_size = 0;                    // 0 = the run's eval batch size
  int64_t workers = 2;
  int64_t threads = 0;
};

// `edge predict`: labels, OOD score and ID/OOD decision per image, printed only once every
// image has been processed. Returns the number of images skipped (warnings on `err`).
int64_t run_predict(const PredictParams& params, std::ostream& out, std::ostream& err);

struct ServeParams {
  std::filesystem::path checkpoint;  // run directory
  serve::ServeOptions options;
};

// `edge serve`: serve::Server on the run until SIGTERM or SIGINT, then stops accepting,
// answers what is in flight and returns 0. Prints the address once listening (a --port 0
// caller reads the port from that line) and a summary at exit on `out`.
int run_serve(const ServeParams& params, std::ostream& out, std::ostream& err);

struct SelectOeParams {
  std::string dataset;                  // --dataset NAME[:PATH]: the ID set (its train split)
  std::vector<std::string> candidates;  // --candidates NAME[:PATH],...: the OE sets (train split)
  std::filesystem::path data_root = "data";
  std::string arch;                     // a torchvision architecture
  std::filesystem::path pretrained;     // its ImageNet state_dict (.pth), required
  int64_t batch_size = 64;              // ID images per batch (the reference's default)
  int64_t oe_batch_size = 0;            // candidate images per batch; 0 = batch_size
  int64_t k = 32;                       // top-k singular values (the reference's default)
  int64_t max_batches = 0;              // at most this many batches per set; 0 = all full batches
  int64_t image_size = 256;
  std::string transform = "train";      // train (the reference's oe.py: flip + RandomResizedCrop) | eval (Resize)
  std::string rule = "smallest";        // smallest | largest distance is selected
  uint64_t seed = 0;                    // batch shuffle and random transform
  int64_t workers = 2;                  // input-pipeline threads
  int64_t threads = 0;                  // intra-op threads (0 = all cores)
  std::string device = "cpu";           // cpu | cuda | cuda:N
  std::filesystem::path out;            // JSON result file; "" = none
};

// `edge select-oe`: dilation distance (select/oe_selection.h) between the ID set and each
// candidate OE set, prints the ranking table and the selection rule, writes `out` (JSON,
// atomically) when given. Returns the ranking.
select::SelectionResult run_select_oe(const SelectOeParams& params, std::ostream& out);

// Parses argv and runs the subcommand. Returns the process exit code: 0 success,
// 2 usage error, 1 any other error (one line on `err`).
int cli_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace edge::app
