// Option groups that several commands share.
#pragma once

#include <CLI/CLI.hpp>

#include "edge/app/commands.h"

namespace edge::app::cli {

// For unsigned options (seeds): CLI11 would wrap "-1" to 2^64 - 1 without it.
inline CLI::Validator non_negative_integer() {
  return CLI::Validator(
      [](std::string& v) {
        return v.find('-') != std::string::npos ? "expected a non-negative integer, got " + v : std::string();
      },
      "NONNEGATIVE");
}

// --allow_outside_paths (data/readers.h: where a list's image paths may point).
void add_allow_outside_paths(CLI::App& cmd, bool& allow);

// Sizes, rho, seed and source folders of the built-in benchmarks (fashion-lt, cifar-lt).
void add_data_options(CLI::App& cmd, data::FashionLtOptions& d);

// Every flag of a training run (the reference's spellings included) bound to `c`.
void add_train_options(CLI::App& cmd, train::TrainConfig& c);

// `edge eval`'s score parameters, metric convention, raw-score output and feature cache.
void add_score_options(CLI::App& cmd, EvalParams& p);

}  // namespace edge::app::cli
