// What a training run reads, assembled from its configuration: the ID train / val splits,
// the OE set its mode needs (with the reference's default where none is given), the
// transforms, and the loader settings. One road for every dataset, fashion-lt included.
#pragma once

#include <ostream>

#include "edge/data/registry.h"
#include "edge/train/train_config.h"
#include "edge/train/trainer.h"

namespace edge::train {

// Opens the data of `config` for Trainer (data::open_benchmark with the dataset's
// data::RunRecipe). Fills in what the data decides: the model's class count and input
// channels, and, where the mode needs outliers and no --oe_data is given, the dataset's
// default OE set (a registry set's is the reference's imagenet-22k, said on `log`). One line
// on `log` says what is built or opened. Throws UsageError / DataError naming the flag or
// file as the registry does.
PipelineData open_training_data(TrainConfig& config, std::ostream& log);

// Given sets as training data: their id_train, id_val and oe_train with `recipe`'s transforms
// and flips. For benchmarks and tests that make their own sets.
PipelineData pipeline_data(data::Benchmark sets, const data::RunRecipe& recipe, int64_t workers);

}  // namespace edge::train
