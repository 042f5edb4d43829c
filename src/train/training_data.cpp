#include "edge/train/training_data.h"

#include <fmt/format.h>

#include "edge/data/registry.h"
#include "edge/train/objectives.h"

namespace edge::train {

PipelineData pipeline_data(data::Benchmark sets, const data::RunRecipe& recipe, int64_t workers) {
  PipelineData p;
  p.id_train = std::move(sets.id_train);
  p.id_val = std::move(sets.id_val);
  p.oe_train = std::move(sets.oe_train);
  p.train_transform = recipe.train;
  p.eval_transform = recipe.eval;
  p.batch_flips = recipe.batch_flips;
  p.workers = workers;
  return p;
}

PipelineData open_training_data(TrainConfig& config, std::ostream& log) {
  const bool with_oe = uses_outliers(parse_mode(config.objective));
  const data::RunRecipe recipe = data::run_recipe(config.dataset, config.image_size, config.hflip, config.data);
  if (with_oe && config.oe_data.empty() && !recipe.builtin) {
    // Recorded in the run's configuration: the OE set is a files-on-disk choice.
    config.oe_data = recipe.default_oe;
    log << fmt::format("--oe_data not given: using the reference's default OE set, {} (under --data_root)",
                       config.oe_data)
        << std::endl;
  }
  data::BenchmarkSpec spec = config.benchmark_spec();
  spec.oe_data = config.oe_data.empty() ? recipe.default_oe : config.oe_data;
  spec.need_test = spec.need_ood = false;
  spec.need_oe = with_oe;
  if (recipe.builtin)
    log << fmt::format("building {} (id_train {}, id_val {}{}) ...", config.dataset, config.data.id_train,
                       config.data.id_val, with_oe ? fmt::format(", oe_train {}", config.data.oe_train) : "")
        << std::endl;
  data::Benchmark b = data::open_benchmark(spec);
  config.model.num_classes = b.num_classes();
  config.model.in_channels = recipe.in_channels;
  PipelineData p = pipeline_data(std::move(b), recipe, config.workers);
  if (!recipe.builtin)
    log << fmt::format("opened {}: {} classes, id_train {}, id_val {}{}; {} loader workers", config.dataset,
                       config.model.num_classes, p.id_train.size(), p.id_val.size(),
                       with_oe ? fmt::format(", oe_train {} ({})", p.oe_train.size(), p.oe_train.name) : "",
                       config.workers)
        << std::endl;
  return p;
}

}  // namespace edge::train
