// Flags from a config file: JSON (a flat object {"n_epoch": 16, "score": "joint"}) or
// TOML (n_epoch = 16), keys being flag names without the dashes. They are turned into
// command-line arguments placed before the real ones, so the command line overrides them.
// (CLI11 2.1 reads config files for the main app only, not for subcommands.)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace edge::app {

// The arguments a config file stands for, e.g. {"--n_epoch=16", "--score=joint"}.
// Throws UsageError naming the file if it is missing or malformed.
std::vector<std::string> config_file_args(const std::filesystem::path& file);

// Replaces every "--config FILE" / "--config=FILE" in `args` by the file's arguments,
// inserted right after the subcommand name (args[0]) so that later flags win.
std::vector<std::string> expand_config_files(const std::vector<std::string>& args);

}  // namespace edge::app
