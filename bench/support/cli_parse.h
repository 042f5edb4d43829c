// The benches' CLI11 parse: --help prints and exits 0, any other parse error becomes one
// runtime_error line (each bench's main prints it with its name and exits 2).
#pragma once

#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include <CLI/CLI.hpp>

namespace edge::bench {

inline void parse_cli(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    throw std::runtime_error(e.what());
  }
}

}  // namespace edge::bench
