// `edge train`: a run, its resume, its data-parallel launch, --print_config, and the
// reference's train-then-evaluate (--ood_data / --ood / --method).
#include <chrono>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "app/cli/shared_options.h"
#include "app/reference_flags.h"
#include "edge/app/commands.h"
#include "edge/common/device.h"
#include "edge/common/error.h"
#include "edge/common/interrupt.h"
#include "edge/common/list_flag.h"
#include "edge/dist/launcher.h"

namespace edge::app::cli {

namespace {

// The launch options that may accompany --resume: where and how, not what, to train.
bool is_launch_option(const std::string& name) {
  return name == "device" || name == "device-id" || name == "nproc" || name == "dist_timeout";
}

// `args` without the options that a launcher consumes (both "--opt V" and "--opt=V").
std::vector<std::string> drop_options(const std::vector<std::string>& args, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    bool dropped = false;
    for (const auto& n : names) {
      if (args[i] == n) {
        ++i;  // and its value
        dropped = true;
      } else if (args[i].rfind(n + "=", 0) == 0) {
        dropped = true;
      }
      if (dropped) break;
    }
    if (!dropped) out.push_back(args[i]);
  }
  return out;
}

// `edge train --device-id 0,1` / `--nproc N`: this process launches the training processes.
int launch_workers(const std::vector<std::string>& expanded_args, const std::string& device_ids, int64_t nproc,
                   const TrainLaunch& launch) {
  if (std::getenv("WORLD_SIZE") != nullptr)
    throw UsageError("--device-id / --nproc start their own training processes and cannot be used inside a launched "
                     "one (WORLD_SIZE is set)");
  if (!device_ids.empty() && nproc > 0) throw UsageError("--device-id and --nproc exclude each other");
  std::vector<std::string> devices;
  if (!device_ids.empty()) {
    if (launch.device != "cpu" && launch.device != "cuda")
      throw UsageError(fmt::format("--device {} conflicts with --device-id {} (which picks the GPUs)", launch.device,
                                   device_ids));
    for (int id : parse_device_ids(device_ids)) devices.push_back(fmt::format("cuda:{}", id));
  } else {
    if (nproc < 1 || nproc > 256) throw UsageError(fmt::format("--nproc: expected 1..256 processes, got {}", nproc));
    if (launch.device != "cpu")
      throw UsageError(fmt::format("--nproc starts CPU processes; for GPUs use --device-id (got --device {})",
                                   launch.device));
    devices.assign(size_t(nproc), "cpu");
  }
  const auto args = drop_options(expanded_args, {"--device-id", "--nproc", "--device"});
  // Survivors notice a dead peer at their next collective, at the latest after the timeout.
  return dist::launch_local_workers(dist::self_executable(), args, devices,
                                    std::chrono::seconds(launch.dist_timeout_s + 30));
}

class TrainCommand final : public Command {
 public:
  explicit TrainCommand(CLI::App& app) {
    cmd_ = app.add_subcommand("train", "train a multi-label model (BCE, EDGE or another --score mode) on fashion-lt "
                                       "or a registry dataset");
    add_train_options(*cmd_, config_);
    cmd_->add_option("--out", out_dir_, "run directory to write")->capture_default_str();
    resume_opt_ = cmd_->add_option("--resume", resume_dir_, "continue the interrupted run in this directory");
    // Expanded into flags before parsing (config_file.h); registered here for --help.
    cmd_->add_option("--config", config_help_, "read flags from a JSON or TOML file; the command line overrides it");
    add_launch_options();
    // The reference trains and then evaluates: weg.py's --ood_data (OOD test sets), --ood and --method.
    cmd_->add_option("--ood_data", ood_data_, "after training, evaluate against these OOD sets (as `edge eval --ood_data`)");
    cmd_->add_option("--ood", ood_, "OOD measure for that evaluation, reference names: energy | logit | prob | odin | "
                                    "M | msp | lof | isol | ... (default energy)");
    cmd_->add_option("--method", method_, "max | sum, with --ood")->capture_default_str();
    cmd_->add_flag("--print_config", print_config_,
                   "print the resolved configuration (JSON) and the launch, then exit without training");
  }

  bool parsed() const override { return cmd_->parsed(); }

  int run(const Context& ctx) override {
    if (print_config_) return print_config(ctx.out);
    if (!device_ids_.empty() || nproc_opt_->count() > 0) return launch_workers(ctx.expanded_args, device_ids_, nproc_, launch_);
    const InterruptScope interrupts;  // SIGINT / SIGTERM end training between steps (common/interrupt.h)
    if (resume_opt_->count() > 0) {
      check_resume_alone();
      resume_train(resume_dir_, ctx.out, ctx.live_progress, launch_);
      return 0;
    }
    // Checked before training, so that a typo does not cost a whole run.
    const std::string final_score = ood_data_.empty() ? "" : final_score_name();
    run_train(config_, out_dir_, ctx.out, ctx.live_progress, launch_);
    const char* rank = std::getenv("RANK");
    if (!ood_data_.empty() && (rank == nullptr || std::string(rank) == "0")) evaluate_after_training(final_score, ctx);
    return 0;
  }

 private:
  void add_launch_options() {
    cmd_->add_option("--device", launch_.device, "cpu | cuda | cuda:N (cuda = cuda:LOCAL_RANK under a launcher)")
        ->capture_default_str();
    cmd_->add_option("--device-id", device_ids_, "train on these GPUs, one process each (e.g. 0,1)");
    nproc_opt_ = cmd_->add_option("--nproc", nproc_, "train with N CPU processes on this machine (data-parallel over Gloo)");
    cmd_->add_option("--dist_timeout", launch_.dist_timeout_s,
                     "seconds to wait for the other training processes (rendezvous and every collective)")
        ->capture_default_str();
  }

  std::string final_score_name() const { return reference_score_name(ood_.empty() ? "energy" : ood_, method_); }

  // The resolved configuration and launch; `auto` as it resolves on the run's device (GPUs
  // only by their spelling: printing a configuration must not need them; CUDA: fp32, NCHW).
  int print_config(std::ostream& out) const {
    train::TrainConfig resolved = config_;
    resolved.data.resolve_default_paths();  // as run_train does
    resolved.validate();
    const bool on_cuda = !device_ids_.empty() || launch_.device.rfind("cuda", 0) == 0;
    resolved.resolve_compute_mode(torch::Device(on_cuda ? torch::kCUDA : torch::kCPU));
    nlohmann::json j = resolved;
    j["out"] = out_dir_.string();
    j["launch"] = {{"device", launch_.device}, {"device_ids", device_ids_}, {"nproc", nproc_},
                   {"dist_timeout_s", launch_.dist_timeout_s}};
    if (!ood_data_.empty()) j["final_eval"] = {{"ood_data", split_list(ood_data_)}, {"score_fn", final_score_name()}};
    out << j.dump(2) << std::endl;
    return 0;
  }

  // --resume takes the run's own configuration: only launch options may come with it.
  void check_resume_alone() const {
    for (const CLI::Option* opt : cmd_->get_options())
      if (opt != resume_opt_ && opt->count() > 0 && !opt->get_lnames().empty() && opt->get_lnames()[0] != "help" &&
          !is_launch_option(opt->get_lnames()[0]))
        throw UsageError(fmt::format("--resume continues {} with its own configuration; drop --{}",
                                     resume_dir_.string(), opt->get_lnames()[0]));
  }

  void evaluate_after_training(const std::string& score_fn, const Context& ctx) const {
    EvalParams e;
    e.checkpoint = out_dir_;
    e.ood_data = split_list(ood_data_);
    e.score_fn = score_fn;
    e.device = launch_.device;
    e.workers = config_.workers;
    run_eval(e, ctx.out);
  }

  CLI::App* cmd_ = nullptr;
  CLI::Option* resume_opt_ = nullptr;
  train::TrainConfig config_;
  std::filesystem::path out_dir_ = "runs/train", resume_dir_;
  std::string config_help_, device_ids_, ood_data_, ood_, method_ = "sum";
  TrainLaunch launch_;
  int64_t nproc_ = 0;
  CLI::Option* nproc_opt_ = nullptr;  // given at all (--nproc 0 is refused, not read as "not given")
  bool print_config_ = false;
};

}  // namespace

std::unique_ptr<Command> train_command(CLI::App& app) { return std::make_unique<TrainCommand>(app); }

}  // namespace edge::app::cli
