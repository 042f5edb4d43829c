// Command-line parsing: the table of commands (each registers its own options, app/cli/),
// --config expansion, parsing and dispatch; every error is one line and an exit code.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/cli/command.h"
#include "app/config_file.h"
#include "edge/app/commands.h"
#include "edge/common/error.h"
#include "edge/common/interrupt.h"

namespace edge::app {

namespace {

// The seed README's commands carry typographic dashes ("–oe_batch_size", and its
// mis-encoded form "‚Äìalpha"); accept them as "--".
std::string normalise_dashes(std::string arg) {
  for (const std::string bad : {"\xE2\x80\x9A\xC3\x84\xC3\xAC", "\xE2\x80\x93", "\xE2\x80\x94"})
    if (arg.rfind(bad, 0) == 0) return "--" + arg.substr(bad.size());
  return arg;
}

// The commands in --help order (app/cli/command.h).
std::vector<std::unique_ptr<cli::Command>> make_commands(CLI::App& app, bool quick) {
  std::vector<std::unique_ptr<cli::Command>> c;
  c.push_back(cli::train_command(app));
  c.push_back(cli::eval_command(app));
  c.push_back(cli::demo_command(app, quick));
  c.push_back(cli::photo_bench_command(app));
  c.push_back(cli::infer_command(app));
  c.push_back(cli::calibrate_command(app));
  c.push_back(cli::predict_command(app));
#ifndef EDGE_NO_SERVE  // a build without cpp-httplib (CMakeLists.txt)
  c.push_back(cli::serve_command(app));
#endif
  c.push_back(cli::data_command(app));
  c.push_back(cli::select_oe_command(app));
  return c;
}

// Parses `args` (already --config expanded); an exit code when parsing ends the run
// (help, version, a usage error), nothing when a command is to run.
std::optional<int> parse(CLI::App& app, const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "edge: error: " << e.what() << " (run `edge --help`)" << std::endl;
    return 2;
  }
  return std::nullopt;
}

// CLI11 reads integers with strtoll in base 0: an overflowing value saturates silently
// (99999999999999999999 became 9223372036854775807) and 010 is octal 8. Every integer value
// given must be a plain decimal that fits its type.
void check_integer_values(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands({})) {
    check_integer_values(*sub);
    for (const CLI::Option* opt : sub->get_options()) {
      const std::string type = opt->get_type_name();
      if ((type != "INT" && type != "UINT") || opt->count() == 0) continue;
      for (const std::string& v : opt->results()) {
        const char* end = v.data() + v.size();
        std::from_chars_result r{};
        if (type == "INT") {
          int64_t x = 0;
          r = std::from_chars(v.data(), end, x);
        } else {
          uint64_t x = 0;
          r = std::from_chars(v.data(), end, x);
        }
        const bool leading_zero = v.size() > 1 && v[v[0] == '-' ? 1 : 0] == '0';
        if (v.empty() || r.ec != std::errc() || r.ptr != end || leading_zero)
          throw UsageError(fmt::format("{}: '{}' is not a decimal integer in range (expected {} to {})", opt->get_name(),
                                       v, type == "INT" ? std::to_string(INT64_MIN) : "0",
                                       type == "INT" ? std::to_string(INT64_MAX) : std::to_string(UINT64_MAX)));
      }
    }
  }
}

// CLI11 answers an unknown first word with "A subcommand is required", naming nothing.
void check_command_name(const CLI::App& app, const std::vector<std::string>& args) {
  if (args.empty() || args[0].empty() || args[0][0] == '-') return;
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == args[0]) return;
    names.push_back(sub->get_name());
  }
  throw UsageError(fmt::format("unknown command '{}' (expected one of: {})", args[0], fmt::join(names, ", ")));
}

// Runs the parsed command; every error becomes one line and an exit code (2: usage, 1: other).
int run_parsed(const std::vector<std::unique_ptr<cli::Command>>& commands, const cli::Context& ctx) {
  try {
    for (const auto& c : commands)
      if (c->parsed()) return c->run(ctx);
  } catch (const UsageError& e) {
    ctx.err << "edge: error: " << e.what() << std::endl;
    return 2;
  } catch (const Interrupted& e) {
    if (*e.what() != '\0') ctx.err << "edge: " << e.what() << std::endl;  // empty: a data-parallel rank other than 0
    return e.exit_code();
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    ctx.err << "edge: error: " << msg.substr(0, msg.find('\n')) << std::endl;
    return 1;
  } catch (const std::exception& e) {
    ctx.err << "edge: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace

int cli_main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.push_back(normalise_dashes(argv[i]));
  const bool quick = std::find(args.begin(), args.end(), "--quick") != args.end();

  CLI::App app{"edge: unknown-aware multi-label learning (EDGE, AAAI 2025) in C++", "edge"};
  // A flag given twice (config file, then command line) keeps the last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(EDGE_VERSION));
  const auto commands = make_commands(app, quick);

  try {
    args = expand_config_files(args);
    check_command_name(app, args);
  } catch (const UsageError& e) {
    err << "edge: error: " << e.what() << std::endl;
    return 2;
  }
  if (const auto code = parse(app, args, out, err)) return *code;
  try {
    check_integer_values(app);
  } catch (const UsageError& e) {
    err << "edge: error: " << e.what() << std::endl;
    return 2;
  }
  const bool live = &out == &std::cout && isatty(fileno(stdout));
  return run_parsed(commands, cli::Context{out, err, live, args});
}

}  // namespace edge::app
