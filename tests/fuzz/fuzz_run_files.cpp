// The files a run directory and a command line read: --config (JSON or TOML, parsed by CLI11
// into every training flag), a run's config.json and its calibration.json.
#include <cctype>
#include <sstream>
#include <vector>

#include "edge/app/commands.h"
#include "edge/eval/calibration.h"
#include "edge/train/train_config.h"
#include "fuzz/fuzz_target.h"

EDGE_FUZZ_TARGET(config_flags) {
  edge::fuzz::clean_errors_only([&] {
    // JSON when the first non-blank byte opens an object, else TOML (CLI11 goes by the name).
    size_t first = 0;
    while (first < size && std::isspace(data[first])) ++first;
    const bool toml = first == size || data[first] != '{';
    const auto file = edge::fuzz::scratch_file(toml ? "flags.toml" : "flags.json", data, size);
    const std::string path = file.string();
    const std::vector<const char*> argv = {"edge", "train", "--config", path.c_str(), "--print_config"};
    std::ostringstream out, err;
    (void)edge::app::cli_main(static_cast<int>(argv.size()), argv.data(), out, err);
  });
}

EDGE_FUZZ_TARGET(run_config) {
  edge::fuzz::clean_errors_only([&] {
    const auto file = edge::fuzz::scratch_file("run/config.json", data, size);
    (void)edge::train::load_run_config(file.parent_path());
  });
}

EDGE_FUZZ_TARGET(calibration) {
  edge::fuzz::clean_errors_only([&] {
    const auto file = edge::fuzz::scratch_file("cal/calibration.json", data, size);
    (void)edge::eval::read_calibration(file.parent_path());
  });
}
