#include "edge/train/training_data.h"

#include <fmt/format.h>

#include "edge/data/fashion_lt.h"
#include "edge/data/readers.h"
#include "edge/data/registry.h"
#include "edge/train/objectives.h"

namespace edge::train {

namespace {

// fashion-lt, built in memory at the configuration's sizes and seed, through memory sources.
PipelineData open_fashion_lt(const TrainConfig& config, bool with_oe, std::ostream& log) {
  data::FashionLtParts parts;
  parts.id_test = false;
  parts.oe_train = with_oe;
  parts.ood.clear();
  log << fmt::format("building {} (id_train {}, id_val {}{}) ...", config.dataset, config.data.id_train,
                     config.data.id_val, with_oe ? fmt::format(", oe_train {}", config.data.oe_train) : "")
      << std::endl;
  return in_memory_training_data(data::build_fashion_lt(config.data, parts), config.workers);
}

// A registry dataset with the reference's transforms at --image_size.
PipelineData open_registry(TrainConfig& config, bool with_oe, std::ostream& log) {
  if (with_oe && config.oe_data.empty()) {
    // The reference's default OE set (weg.py: --oe_data imagenet), under --data_root.
    config.oe_data = "imagenet-22k";
    log << "--oe_data not given: using the reference's default OE set, imagenet-22k (DATA_ROOT/ImageNet-22K)"
        << std::endl;
  }
  data::BenchmarkSpec spec;
  spec.dataset = config.dataset;
  spec.data_root = config.data_root;
  spec.oe_data = config.oe_data;
  spec.need_test = spec.need_ood = false;
  spec.need_oe = with_oe;
  data::DatasetBenchmark b = data::open_benchmark(spec);
  config.model.num_classes = b.num_classes();
  config.model.in_channels = 3;
  PipelineData p;
  p.id_train = std::move(b.id_train);
  p.id_val = std::move(b.id_val);
  p.oe_train = std::move(b.oe_train);
  const data::InputRecipe recipe = data::input_recipe(config.dataset, config.image_size, config.hflip);
  p.train_transform = recipe.train;
  p.eval_transform = recipe.eval;
  p.batch_flips = recipe.batch_flips;
  p.workers = config.workers;
  log << fmt::format("opened {}: {} classes, id_train {}, id_val {}{}; {} loader workers", config.dataset,
                     config.model.num_classes, p.id_train.size(), p.id_val.size(),
                     with_oe ? fmt::format(", oe_train {} ({})", p.oe_train.size(), p.oe_train.name) : "",
                     config.workers)
      << std::endl;
  return p;
}

}  // namespace

PipelineData in_memory_training_data(const data::Benchmark& sets, int64_t workers) {
  PipelineData p;
  p.id_train = data::dataset_from_image_set(sets.id_train, sets.class_names);
  if (sets.id_val.size() > 0) p.id_val = data::dataset_from_image_set(sets.id_val, sets.class_names);
  if (sets.oe_train.size() > 0) p.oe_train = data::dataset_from_image_set(sets.oe_train, {});
  const data::InputRecipe recipe = data::input_recipe("fashion-lt", 0, true);
  p.train_transform = recipe.train;
  p.eval_transform = recipe.eval;
  p.batch_flips = recipe.batch_flips;
  p.workers = workers;
  return p;
}

PipelineData open_training_data(TrainConfig& config, std::ostream& log) {
  const bool with_oe = uses_outliers(parse_mode(config.objective));
  return config.dataset == "fashion-lt" ? open_fashion_lt(config, with_oe, log) : open_registry(config, with_oe, log);
}

}  // namespace edge::train
