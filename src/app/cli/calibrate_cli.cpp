// `edge calibrate`: a run's ID/OOD threshold (CalibrateParams).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "app/cli/command.h"
#include "edge/app/commands.h"

namespace edge::app::cli {

namespace {

class CalibrateCommand final : public BoundCommand<CalibrateParams> {
 public:
  explicit CalibrateCommand(CLI::App& app) {
    cmd_ = app.add_subcommand("calibrate", "store a run's ID/OOD threshold at a target TPR on its ID validation split");
    cmd_->add_option("--checkpoint", p_.checkpoint, "run directory written by `edge train`")->required();
    cmd_->add_option("--dataset", p_.dataset, "labelled ID set NAME[:PATH] with the run's classes (default: the run's own)");
    cmd_->add_option("--data_root", p_.data_root, "registry datasets' folder (default: the run's)");
    cmd_->add_option("--tpr", p_.tpr, "fraction of ID images to keep as ID")->capture_default_str();
    cmd_->add_option("--score_fn", p_.score_fn,
                     fmt::format("OOD score from the logits: {}", fmt::join(eval::deploy_score_names(), " | ")))
        ->capture_default_str();
    cmd_->add_option("--topk", p_.score_options.topk, "energy_topk's k")->capture_default_str();
    cmd_->add_option("--T", p_.score_options.temperature, "odin temperature")->capture_default_str();
    cmd_->add_option("--workers", p_.workers, "input-pipeline threads")->capture_default_str();
    cmd_->add_option("--threads", p_.threads, "intra-op threads (0 = the run's setting)");
    cmd_->add_option("--save_scores", p_.save_scores, "write the ID scores here, one per line");
  }
  int run(const Context& ctx) override {
    run_calibrate(p_, ctx.out);
    return 0;
  }
};

}  // namespace

std::unique_ptr<Command> calibrate_command(CLI::App& app) { return std::make_unique<CalibrateCommand>(app); }

}  // namespace edge::app::cli
