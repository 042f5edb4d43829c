// What every C++-vs-Python benchmark needs around its Python peer: running it, quoting its
// arguments for the shell, and naming the machine in the report.
#pragma once

#include <string>

namespace edge::bench {

// Runs `cmd` through the shell and returns its standard output; throws std::runtime_error
// with that output if the command fails.
std::string run_command(const std::string& cmd);

// `s` as one single-quoted shell word.
std::string shell_quote(const std::string& s);

// The CPU's model name from /proc/cpuinfo ("unknown CPU" if absent).
std::string cpu_name();

}  // namespace edge::bench
