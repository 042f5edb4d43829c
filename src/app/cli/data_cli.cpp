// `edge data verify`: decode and check a benchmark (DataVerifyParams).
#include "app/cli/command.h"
#include "edge/app/commands.h"
#include "edge/common/list_flag.h"

namespace edge::app::cli {

namespace {

class DataVerifyCommand final : public BoundCommand<DataVerifyParams> {
 public:
  explicit DataVerifyCommand(CLI::App& app) {
    CLI::App* data = app.add_subcommand("data", "inspect datasets");
    data->require_subcommand(1);
    cmd_ = data->add_subcommand("verify", "decode every image of a benchmark and check its labels");
    cmd_->add_option("--dataset", p_.dataset, "ID dataset NAME[:PATH] (see data/registry.h)")->required();
    cmd_->add_option("--data_root", p_.data_root, "folder holding the datasets' default locations")
        ->capture_default_str();
    cmd_->add_option("--oe_data", p_.oe_data, "OE set NAME[:PATH]");
    cmd_->add_option("--ood_data", ood_, "comma-separated OOD sets NAME[:PATH]");
    cmd_->add_option("--threads", p_.threads, "decoding threads")->capture_default_str();
  }
  int run(const Context& ctx) override {
    p_.ood_data = split_list(ood_);
    return run_data_verify(p_, ctx.out) > 0 ? 1 : 0;
  }

 private:
  std::string ood_;
};

}  // namespace

std::unique_ptr<Command> data_command(CLI::App& app) { return std::make_unique<DataVerifyCommand>(app); }

}  // namespace edge::app::cli
