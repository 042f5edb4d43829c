// `edge predict`: labels and ID/OOD decisions for image files (PredictParams).
#include "app/cli/command.h"
#include "edge/app/commands.h"

namespace edge::app::cli {

namespace {

class PredictCommand final : public BoundCommand<PredictParams> {
 public:
  explicit PredictCommand(CLI::App& app) {
    cmd_ = app.add_subcommand("predict", "labels, OOD score and ID/OOD decision for image files");
    cmd_->add_option("--checkpoint", p_.checkpoint, "run directory written by `edge train`")->required();
    cmd_->add_option("--format", p_.format, "table | jsonl")->capture_default_str();
    cmd_->add_option("--label_threshold", p_.label_threshold, "predict a label when sigmoid >= this")
        ->capture_default_str();
    cmd_->add_option("--top", p_.top, "at most K labels per image (0 = all)")->capture_default_str();
    cmd_->add_option("--score_fn", p_.score_fn,
                     "OOD score without a calibration (default energy_sum; with one: the calibrated score)");
    cmd_->add_flag("--require_calibration", p_.require_calibration, "fail instead of printing 'uncalibrated' decisions");
    cmd_->add_flag("--skip_unreadable", p_.skip_unreadable,
                   "warn about unreadable images and leave them out (exit code 1) instead of failing");
    cmd_->add_option("--batch_size", p_.batch_size, "images per forward pass (0 = the run's)");
    cmd_->add_option("--workers", p_.workers, "decoding threads")->capture_default_str();
    cmd_->add_option("--threads", p_.threads, "intra-op threads (0 = the run's setting)");
    cmd_->add_option("images", inputs_, "IMAGE files (jpg/png/bmp) or DIRs (their images, sorted)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  }
  int run(const Context& ctx) override {
    p_.inputs.assign(inputs_.begin(), inputs_.end());
    return run_predict(p_, ctx.out, ctx.err) > 0 ? 1 : 0;
  }

 private:
  std::vector<std::string> inputs_;
};

}  // namespace

std::unique_ptr<Command> predict_command(CLI::App& app) { return std::make_unique<PredictCommand>(app); }

}  // namespace edge::app::cli
