// The resolved configuration of a training run: everything needed to rebuild the data
// and the model, written as config.json into the run directory.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "edge/data/fashion_lt.h"
#include "edge/data/registry.h"
#include "edge/model/compute_mode.h"
#include "edge/model/multilabel_net.h"
#include "edge/train/objectives.h"

namespace edge::train {

struct TrainConfig {
  std::string dataset = data::kFashionLtName;  // --dataset NAME[:PATH]: a registry set (data/registry.h), built-in by default
  std::filesystem::path data_root;     // --data_root: default locations of registry datasets
  std::string oe_data;                 // --oe_data NAME[:PATH]: OE set for registry datasets
  int64_t image_size = 256;            // --image_size: input side for registry datasets (the reference: 256)
  int64_t workers = 2;                 // --workers: input-pipeline threads for registry datasets
  bool allow_outside_paths = false;    // --allow_outside_paths: ID lists may name images outside their folder
  data::FashionLtOptions data;
  model::ModelConfig model;

  // The training objective (objectives.h): normal, joint (EDGE), OEML, energyML, OE, energy,
  // OECC. Spelt --score and "score" in config.json, as the reference does; the OOD score a
  // run is evaluated with is another thing (--score_fn, score/ood_scores.h).
  std::string objective = "joint";
  // The objective's weights and margins default to kObjectiveDefaults (objectives.h).
  double alpha = kObjectiveDefaults.edge.alpha;          // --alpha: OE confidence weight
  double energy_beta = kObjectiveDefaults.edge.beta;     // --energy_beta: energy-gap weight beta
  int64_t k = kObjectiveDefaults.edge.k;                 // --k: bottom-k ID samples
  double m = kObjectiveDefaults.edge.margin;             // --m: margin
  int64_t start_epoch = 6;      // --start_epoch: warm-up tau (beta = 0 before it)
  int64_t n_epoch = 12;
  int64_t batch_size = 128;
  int64_t oe_batch_size = 128;
  double l_rate = 0.1;
  std::string opt = "sgd";      // sgd (nesterov) | adam
  double momentum = 0.9;        // SGD momentum (one-cycle cycles it between 0.85 and 0.95 instead)
  bool nesterov = true;
  double weight_decay = 1e-4;
  std::string schedule = "onecycle";  // onecycle | cosine (to 1e-6) | constant; stepped per iteration
  double pct_start = 0.2;
  double backbone_lr_mult = 1.0;  // backbone lr = l_rate * this (the JointEnergy recipe uses 0.1)
  double m_in = kObjectiveDefaults.m_in;  // energy / energyML margins on E = -logsumexp(z)
  double m_out = kObjectiveDefaults.m_out;
  double lambda_1 = kObjectiveDefaults.lambda_1;  // OECC weights and the baseline accuracy A_tr
  double lambda_2 = kObjectiveDefaults.lambda_2;
  double a_tr = kObjectiveDefaults.a_tr;
  bool skip_nonfinite = false;  // skip (and count) steps with a non-finite loss instead of stopping
  bool hflip = true;            // random horizontal flip of ID and OE training images
  bool freeze_bn = false;       // BatchNorm in inference mode while training (running statistics, no updates)
  uint64_t seed = 2024;
  int64_t threads = 0;          // 0 = all cores
  int64_t eval_batch_size = 500;
  // Arithmetic of training and evaluation (model/compute_mode.h): fp32 | bf16 (CPU autocast) |
  // auto, and NCHW or channels-last (true | false | auto). Both `auto`s are resolved for the
  // training device when the Trainer is built (model::resolve_precision, then
  // model::resolve_channels_last), so a run directory's config.json and its checkpoints always
  // hold fp32 or bf16 and a boolean layout. Absent in older configs (= fp32, NCHW).
  std::string precision = "auto";
  std::string channels_last = "auto";

  // Resolves an `auto` precision, then an `auto` layout, for `device`; resolved values stay.
  // `edge train` stores resolved values; this covers a config.json written by hand, which the
  // commands that load a run (eval, infer, predict, calibrate) resolve for their device.
  void resolve_compute_mode(const torch::Device& device);

  // What the run reads: its dataset, data root, built-in sizes and path rule (no OE / OOD
  // sets; every split and set asked for: callers narrow it).
  data::BenchmarkSpec benchmark_spec() const;

  // Needs resolved values; throws UsageError for `auto`.
  model::ComputeMode compute_mode() const {
    return {model::parse_precision(precision), model::parse_channels_last(channels_last)};
  }

  // Throws UsageError naming the flag for an invalid value.
  void validate() const;
};

void to_json(nlohmann::json& j, const TrainConfig& c);
void from_json(const nlohmann::json& j, TrainConfig& c);

// Reads RUN_DIR/config.json; throws DataError naming the file if missing or malformed.
TrainConfig load_run_config(const std::filesystem::path& run_dir);

}  // namespace edge::train
