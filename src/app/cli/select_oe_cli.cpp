// `edge select-oe`: rank candidate OE sets by dilation distance (SelectOeParams).
#include "app/cli/command.h"
#include "app/cli/shared_options.h"
#include "edge/app/commands.h"
#include "edge/common/list_flag.h"

namespace edge::app::cli {

namespace {

class SelectOeCommand final : public BoundCommand<SelectOeParams> {
 public:
  explicit SelectOeCommand(CLI::App& app) {
    cmd_ = app.add_subcommand(
        "select-oe",
        "rank candidate OE sets by dilation distance d = ||S_id[:k] - S_oe[:k]||_2 (mean batch singular values of "
        "pretrained pooled features); the SMALLEST d is selected (--rule largest to invert)");
    cmd_->add_option("--dataset", p_.dataset, "ID set NAME[:PATH] (train split; data/registry.h)")->required();
    cmd_->add_option("--candidates", candidates_, "comma-separated candidate OE sets NAME[:PATH]")->required();
    cmd_->add_option("--data_root", p_.data_root, "folder holding the datasets' default locations")
        ->capture_default_str();
    cmd_->add_option("--arch", p_.arch, "torchvision architecture, e.g. mobilenet_v2, resnet50")->required();
    cmd_->add_option("--pretrained", p_.pretrained, "its torchvision ImageNet state_dict (.pth)")->required();
    cmd_->add_option("--batch_size", p_.batch_size, "ID images per batch")->capture_default_str();
    cmd_->add_option("--oe_batch_size", p_.oe_batch_size, "candidate images per batch (0 = --batch_size)")
        ->capture_default_str();
    cmd_->add_option("--k", p_.k, "top-k singular values compared (at most min(batch, D))")->capture_default_str();
    cmd_->add_option("--max_batches", p_.max_batches, "at most this many batches per set (0 = all)")
        ->capture_default_str();
    cmd_->add_option("--image_size", p_.image_size, "input size")->capture_default_str();
    cmd_->add_option("--transform", p_.transform,
                     "train (the reference's: flip + RandomResizedCrop, seeded) | eval (Resize only)")
        ->capture_default_str();
    cmd_->add_option("--rule", p_.rule, "smallest | largest: which distance is selected")->capture_default_str();
    cmd_->add_option("--seed", p_.seed, "batch shuffle and random transform")->check(non_negative_integer())->capture_default_str();
    cmd_->add_option("--workers", p_.workers, "input-pipeline threads")->capture_default_str();
    cmd_->add_option("--threads", p_.threads, "intra-op threads (0 = all cores)")->capture_default_str();
    cmd_->add_option("--device", p_.device, "cpu | cuda | cuda:N")->capture_default_str();
    cmd_->add_option("--out,--json", p_.out, "write the result as JSON to this file");
  }
  int run(const Context& ctx) override {
    p_.candidates = split_list(candidates_);
    run_select_oe(p_, ctx.out);
    return 0;
  }

 private:
  std::string candidates_;
};

}  // namespace

std::unique_ptr<Command> select_oe_command(CLI::App& app) { return std::make_unique<SelectOeCommand>(app); }

}  // namespace edge::app::cli
