// Option groups that several commands share.
#pragma once

#include <CLI/CLI.hpp>

#include "edge/app/commands.h"

namespace edge::app::cli {

// Every flag of a training run (the reference's spellings included) bound to `c`.
void add_train_options(CLI::App& cmd, train::TrainConfig& c);

// `edge eval`'s score parameters, metric convention, raw-score output and feature cache.
void add_score_options(CLI::App& cmd, EvalParams& p);

}  // namespace edge::app::cli
