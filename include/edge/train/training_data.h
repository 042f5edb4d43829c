// What a training run reads, assembled from its configuration: the ID train / val splits,
// the OE set its mode needs (with the reference's default where none is given), the
// transforms, and the loader settings. One road for every dataset, fashion-lt included.
#pragma once

#include <ostream>

#include "edge/data/image_set.h"
#include "edge/train/train_config.h"
#include "edge/train/trainer.h"

namespace edge::train {

// Opens the data of `config` for Trainer. Fills in what the data decides: the model's class
// count and input channels (fashion-lt: 8 gray; registry sets: theirs, RGB) and, for a
// registry set whose mode needs outliers and has no --oe_data, the reference's default OE
// set (imagenet-22k, said on `log`). One line on `log` says what was opened. Throws
// UsageError / DataError naming the flag or file as the registry does.
PipelineData open_training_data(TrainConfig& config, std::ostream& log);

// fashion-lt-shaped in-memory sets (uint8 canvases, data/fashion_lt.h) as training data: its
// id_train, id_val and oe_train through memory sources, data::fashion_lt_transform for
// training and validation, batch flips. For fashion-lt itself and for benchmarks and tests
// that make such sets.
PipelineData in_memory_training_data(const data::Benchmark& sets, int64_t workers);

}  // namespace edge::train
