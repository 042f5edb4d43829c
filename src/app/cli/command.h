// One subcommand of `edge` as the command line sees it: it registers its own options on its
// CLI11 subcommand (bound to the parameter struct of its library function) and, once parsed,
// runs that function. cli.cpp only builds the table of commands, parses and dispatches.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace edge::app::cli {

// What a running command may use besides its own options.
struct Context {
  std::ostream& out;
  std::ostream& err;
  bool live_progress;                              // stdout is a terminal
  const std::vector<std::string>& expanded_args;   // argv after --config expansion (for launched processes)
};

class Command {
 public:
  virtual ~Command() = default;
  // Whether the command line chose this command.
  virtual bool parsed() const = 0;
  // Runs it; returns the exit code. Errors are thrown (cli_main turns them into one line).
  virtual int run(const Context& ctx) = 0;
};

// A command whose options bind onto one parameter struct `Params` (its library function's).
template <class Params>
class BoundCommand : public Command {
 public:
  bool parsed() const override { return cmd_->parsed(); }

 protected:
  CLI::App* cmd_ = nullptr;
  Params p_;
};

// The commands, in --help order; `quick` is whether --quick is on the command line (the
// demo's defaults depend on it before parsing).
std::unique_ptr<Command> train_command(CLI::App& app);
std::unique_ptr<Command> eval_command(CLI::App& app);
std::unique_ptr<Command> demo_command(CLI::App& app, bool quick);
std::unique_ptr<Command> photo_bench_command(CLI::App& app);
std::unique_ptr<Command> infer_command(CLI::App& app);
std::unique_ptr<Command> calibrate_command(CLI::App& app);
std::unique_ptr<Command> predict_command(CLI::App& app);
std::unique_ptr<Command> serve_command(CLI::App& app);
std::unique_ptr<Command> data_command(CLI::App& app);
std::unique_ptr<Command> select_oe_command(CLI::App& app);

}  // namespace edge::app::cli
