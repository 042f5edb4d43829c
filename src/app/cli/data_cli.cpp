// `edge data verify` (DataVerifyParams) and `edge data materialise` (DataMaterialiseParams).
#include "app/cli/command.h"
#include "app/cli/shared_options.h"
#include "edge/app/commands.h"
#include "edge/common/list_flag.h"

namespace edge::app::cli {

namespace {

class DataCommand final : public Command {
 public:
  explicit DataCommand(CLI::App& app) {
    data_ = app.add_subcommand("data", "inspect datasets, or write a benchmark out as files");
    data_->require_subcommand(1);
    add_verify();
    add_materialise();
  }
  bool parsed() const override { return data_->parsed(); }
  int run(const Context& ctx) override {
    if (verify_cmd_->parsed()) {
      verify_.ood_data = split_list(verify_ood_);
      return run_data_verify(verify_, ctx.out) > 0 ? 1 : 0;
    }
    materialise_.ood_data = split_list(materialise_ood_);
    run_data_materialise(materialise_, ctx.out);
    return 0;
  }

 private:
  void add_verify() {
    verify_cmd_ = data_->add_subcommand("verify", "decode every image of a benchmark and check its labels");
    verify_cmd_->add_option("--dataset", verify_.dataset, "ID dataset NAME[:PATH] (see data/registry.h)")->required();
    verify_cmd_->add_option("--data_root", verify_.data_root, "folder holding the datasets' default locations")
        ->capture_default_str();
    verify_cmd_->add_option("--oe_data", verify_.oe_data, "OE set NAME[:PATH]");
    verify_cmd_->add_option("--ood_data", verify_ood_, "comma-separated OOD sets NAME[:PATH]");
    verify_cmd_->add_option("--threads", verify_.threads, "decoding threads")->capture_default_str();
    add_data_options(*verify_cmd_, verify_.sizes);
    add_allow_outside_paths(*verify_cmd_, verify_.allow_outside_paths);
  }
  void add_materialise() {
    CLI::App* m = data_->add_subcommand(
        "materialise", "write a benchmark (fashion-lt, cifar-lt, any ID set) as PNG files, manifests and image folders");
    m->add_option("--dataset", materialise_.dataset, "ID dataset NAME[:PATH] (see data/registry.h)")->required();
    m->add_option("--out", materialise_.out, "the folder to write (must not exist)")->required();
    m->add_option("--data_root", materialise_.data_root, "folder holding the datasets' default locations");
    m->add_option("--oe_data", materialise_.oe_data, "OE set NAME[:PATH] (default: the dataset's own)");
    m->add_option("--ood_data", materialise_ood_, "comma-separated OOD sets (default: the dataset's own)");
    add_data_options(*m, materialise_.sizes);
    add_allow_outside_paths(*m, materialise_.allow_outside_paths);
  }

  CLI::App* data_ = nullptr;
  CLI::App* verify_cmd_ = nullptr;
  DataVerifyParams verify_;
  DataMaterialiseParams materialise_;
  std::string verify_ood_, materialise_ood_;
};

}  // namespace

std::unique_ptr<Command> data_command(CLI::App& app) { return std::make_unique<DataCommand>(app); }

}  // namespace edge::app::cli
