// `edge eval`: the evaluation's options (eval::EvalParams), with the reference's --ood/--method.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "app/cli/command.h"
#include "app/cli/shared_options.h"
#include "app/reference_flags.h"
#include "edge/app/commands.h"
#include "edge/common/error.h"
#include "edge/common/list_flag.h"

namespace edge::app::cli {

namespace {

class EvalCommand final : public BoundCommand<EvalParams> {
 public:
  explicit EvalCommand(CLI::App& app) {
    cmd_ = app.add_subcommand("eval", "evaluate OOD detection of a trained run");
    cmd_->add_option("--checkpoint", p_.checkpoint, "run directory written by `edge train`")->required();
    ood_opt_ = cmd_->add_option("--ood_data", ood_list_,
                                "comma-separated OOD sets: NAME[:PATH] registry sets (e.g. folder:DIR,noise-blobs:500), "
                                "converted to the run's input; a fashion-lt run also has its own bag, textures and noise "
                                "(its default; other datasets have none, so the flag is required there)");
    cmd_->add_option("--workers", p_.workers, "input-pipeline threads")->capture_default_str();
    cmd_->add_option("--data_root", p_.data_root,
                     "folder holding the registry datasets' default locations (default: the run's --data_root)");
    cmd_->add_option("--fit_max_images", p_.fit_max_images,
                     "registry datasets: fit the scores on at most this many training images, spread evenly (0 = all)")
        ->capture_default_str();
    score_opt_ = cmd_->add_option("--score_fn,--scores", p_.score_fn,
                     "comma-separated OOD scores (higher = more in-distribution): " +
                         fmt::format("{}", fmt::join(score::score_names(), " | ")))
        ->capture_default_str();
    cmd_->add_option("--tail_j", tail_list_, "head/tail grid: exclude the j most frequent classes")->capture_default_str();
    cmd_->add_option("--out", p_.out, "output folder (default RUN_DIR/eval)");
    cmd_->add_option("--threads", p_.threads, "intra-op threads (0 = the run's setting)");
    ood_ref_opt_ = cmd_->add_option("--ood", ood_, "the reference's name of the score (with --method), instead of --score_fn");
    cmd_->add_option("--method", method_, "max | sum, with --ood")->capture_default_str();
    cmd_->add_option("--device", p_.device, "cpu | cuda | cuda:N")->capture_default_str();
    add_score_options(*cmd_, p_);
    cmd_->add_option("--precision", p_.precision, "auto | fp32 | bf16 (default: the run's setting; auto as for train)");
    cmd_->add_option("--channels_last", p_.channels_last,
                     "true | false | auto (default: the run's setting; auto as for train)");
  }


  int run(const Context& ctx) override {
    if (ood_ref_opt_->count() > 0 && score_opt_->count() > 0)
      throw UsageError("--ood and --score_fn both name the score; give one of them");
    if (ood_ref_opt_->count() > 0) p_.score_fn = reference_score_name(ood_, method_);
    p_.ood_data = split_list(ood_list_);
    if (ood_opt_->count() > 0 && p_.ood_data.empty())
      throw UsageError("--ood_data: expected at least one OOD set NAME[:PATH], got an empty list");
    p_.tail_j.clear();
    for (const auto& s : split_list(tail_list_)) {
      try {
        p_.tail_j.push_back(std::stoll(s));
      } catch (const std::exception&) {
        throw UsageError(fmt::format("--tail_j: expected comma-separated integers, got '{}'", tail_list_));
      }
    }
    run_eval(p_, ctx.out);
    return 0;
  }

 private:
  CLI::Option *ood_opt_ = nullptr, *ood_ref_opt_ = nullptr, *score_opt_ = nullptr;
  std::string ood_list_, tail_list_ = "0,1,2,3,4", ood_, method_ = "sum";
};

}  // namespace

std::unique_ptr<Command> eval_command(CLI::App& app) { return std::make_unique<EvalCommand>(app); }

}  // namespace edge::app::cli
