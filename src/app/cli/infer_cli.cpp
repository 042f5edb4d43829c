// `edge infer`: a backbone on a tensor from Python (InferParams).
#include "app/cli/command.h"
#include "app/cli/shared_options.h"
#include "edge/app/commands.h"

namespace edge::app::cli {

namespace {

class InferCommand final : public BoundCommand<InferParams> {
 public:
  explicit InferCommand(CLI::App& app) {
    cmd_ = app.add_subcommand("infer", "run a backbone in eval mode on a tensor from Python (torch.save)");
    cmd_->add_option("--arch", p_.arch, "architecture (required with --pretrained)");
    cmd_->add_option("--pretrained", p_.pretrained, "torchvision state_dict (.pth) for the backbone");
    cmd_->add_option("--checkpoint", p_.checkpoint, "run directory written by `edge train`");
    cmd_->add_option("--input", p_.input, "NCHW float tensor saved by torch.save (fed as is)")->required();
    cmd_->add_option("--output", p_.output, "file to write (torch.load reads it)")->required();
    cmd_->add_option("--features", p_.features,
                     "pooled | map | hidden | logits (default: logits with --checkpoint, pooled with --pretrained)");
    cmd_->add_option("--batch_size", p_.batch_size, "images per forward pass")->capture_default_str();
    cmd_->add_option("--threads", p_.threads, "intra-op threads (0 = all cores)")->capture_default_str();
    cmd_->add_option("--seed", p_.seed, "seed of the untrained head with --pretrained")
        ->check(non_negative_integer())
        ->capture_default_str();
  }
  int run(const Context& ctx) override {
    run_infer(p_, ctx.out);
    return 0;
  }
};

}  // namespace

std::unique_ptr<Command> infer_command(CLI::App& app) { return std::make_unique<InferCommand>(app); }

}  // namespace edge::app::cli
