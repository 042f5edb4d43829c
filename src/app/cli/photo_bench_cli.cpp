// `edge bench-photo`: the natural-photograph benchmark (PhotoBenchParams).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "app/cli/command.h"
#include "edge/app/commands.h"
#include "edge/common/list_flag.h"

namespace edge::app::cli {

namespace {

class PhotoBenchCommand final : public BoundCommand<PhotoBenchParams> {
 public:
  explicit PhotoBenchCommand(CLI::App& app) {
    cmd_ = app.add_subcommand("bench-photo",
                              "train BCE / OE / energyML / EDGE on cifar-lt with mobilenet_v2 (ImageNet) and "
                              "small_resnet (scratch) over seeds; write the mean +- sd table RESULTS.md");
    cmd_->add_flag("--quick", p_.quick, "a smoke version (small sets, 1 epoch; use with --seeds 1)");
    cmd_->add_option("--seeds", p_.seeds, "training seeds per backbone and mode")->capture_default_str();
    cmd_->add_option("--out", p_.out, "output folder (its finished runs of the same plan are reused)")
        ->capture_default_str();
    cmd_->add_option("--results", p_.results, "the table (default: OUT/RESULTS.md)");
    cmd_->add_option("--dataset", p_.dataset, "the photo benchmark NAME[:PATH] (cifar-lt[:CIFAR-10 folder])")
        ->capture_default_str();
    cmd_->add_option("--pretrained", p_.pretrained, "torchvision mobilenet_v2 ImageNet state_dict (.pth)")->required();
    cmd_->add_option("--modes", modes_, "comma-separated training modes")->capture_default_str();
    cmd_->add_option("--scores", p_.candidate_scores, "candidate scores besides energy_sum (the best three are shown)")
        ->capture_default_str();
    cmd_->add_option("--threads", p_.threads, "intra-op threads (0 = all cores)")->capture_default_str();
  }
  int run(const Context& ctx) override {
    p_.modes = split_list(modes_);
    p_.command_line = fmt::format("edge {}", fmt::join(ctx.expanded_args, " "));
    run_photo_bench(p_, ctx.out);
    return 0;
  }

 private:
  std::string modes_ = "normal,OE,energyML,joint";
};

}  // namespace

std::unique_ptr<Command> photo_bench_command(CLI::App& app) { return std::make_unique<PhotoBenchCommand>(app); }

}  // namespace edge::app::cli
