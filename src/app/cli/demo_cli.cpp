// `edge demo`: BCE and EDGE on fashion-lt, one comparison table (DemoParams).
#include "app/cli/command.h"
#include "app/cli/shared_options.h"
#include "edge/app/commands.h"

namespace edge::app::cli {

namespace {

class DemoCommand final : public BoundCommand<DemoParams> {
 public:
  DemoCommand(CLI::App& app, bool quick) {
    p_.quick = quick;
    p_.base = demo_config(quick);
    cmd_ = app.add_subcommand("demo", "train BCE and EDGE on fashion-lt and compare them");
    cmd_->add_flag("--quick", p_.quick, "a small smoke version (under 3 minutes)");
    cmd_->add_option("--out", p_.out, "output folder")->capture_default_str();
    add_train_options(*cmd_, p_.base);
    p_.base_overridden = true;  // p_.base already holds demo_config(quick) plus any flags
  }
  int run(const Context& ctx) override {
    run_demo(p_, ctx.out);
    return 0;
  }
};

}  // namespace

std::unique_ptr<Command> demo_command(CLI::App& app, bool quick) { return std::make_unique<DemoCommand>(app, quick); }

}  // namespace edge::app::cli
