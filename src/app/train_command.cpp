#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "edge/common/device.h"
#include "edge/common/error.h"
#include "edge/common/run_lock.h"
#include "edge/dist/communicator.h"
#include "edge/model/checkpoint.h"
#include "edge/model/compute_mode.h"
#include "edge/train/objectives.h"
#include "edge/train/training_data.h"

namespace edge::app {

namespace fs = std::filesystem;

namespace {

nlohmann::json provenance(const train::TrainConfig& c) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"seed", c.seed}, {"data_seed", c.data.seed}, {"edge_version", EDGE_VERSION},
          {"git_commit", EDGE_GIT_COMMIT}, {"torch_version", TORCH_VERSION}, {"created", stamp},
          {"threads", torch::get_num_threads()}};
}

// This process's device and, under a torchrun-style launch, its process group.
train::Placement make_placement(const TrainLaunch& launch) {
  if (launch.dist_timeout_s < 1)
    throw UsageError(fmt::format("--dist_timeout must be at least 1 second, got {}", launch.dist_timeout_s));
  const dist::LaunchEnv env = dist::launch_env_from_environment();
  train::Placement p;
  p.device = resolve_device(launch.device, env.local_rank);
  if (env.distributed()) p.comm = dist::Communicator::connect(env, p.device, std::chrono::seconds(launch.dist_timeout_s));
  return p;
}

// Non-zero ranks train silently: rank 0 prints and writes for the group.
std::ostream& rank_log(const train::Placement& p, std::ostream& log) {
  static std::ostream null_stream(nullptr);
  return p.rank() == 0 ? log : null_stream;
}

void describe_placement(const train::Trainer& trainer, std::ostream& log) {
  const auto& p = trainer.placement();
  const auto& c = trainer.config();
  if (!p.comm) {
    if (!p.device.is_cpu()) log << "device " << p.device.str() << std::endl;
    return;
  }
  log << fmt::format("data-parallel: {} processes over {} (rank 0 on {}), global batch {} ID + {} OE = {} + {} per "
                     "process, BatchNorm {}",
                     p.world_size(), p.comm->backend(), p.device.str(), c.batch_size, c.oe_batch_size,
                     c.batch_size / p.world_size(), c.oe_batch_size / p.world_size(),
                     c.freeze_bn ? "frozen" : "per process (running statistics averaged every epoch)")
      << std::endl;
}

// With --threads 0, CPU processes sharing a machine share its cores out rather than each
// taking all of them (LOCAL_WORLD_SIZE processes per machine, as torchrun sets it).
void apply_cpu_share(const train::TrainConfig& config, const train::Placement& p) {
  if (config.threads != 0 || !p.comm || !p.device.is_cpu()) return;
  const char* lws = std::getenv("LOCAL_WORLD_SIZE");
  const int local = lws != nullptr && std::atoi(lws) > 0 ? std::atoi(lws) : p.world_size();
  train::set_threads(std::max(1, int(std::thread::hardware_concurrency()) / local));
}

// The trainer for `config` (on the data open_training_data assembles).
struct TrainerWithData {
  std::unique_ptr<train::Trainer> trainer;
  std::ostream* log = nullptr;  // where this rank reports
};

TrainerWithData make_trainer(train::TrainConfig& config, std::ostream& log, bool live_progress,
                             train::Placement placement) {
  TrainerWithData t;
  t.trainer = std::make_unique<train::Trainer>(config, train::open_training_data(config, log), log, live_progress,
                                               std::move(placement));
  return t;
}

// This process's trainer, placed (device, process group) and announced; `log` is where this
// rank reports (rank 0: `log_in`, the others: nowhere).
TrainerWithData start_trainer(train::TrainConfig& config, std::ostream& log_in, bool live_progress,
                              const TrainLaunch& launch) {
  train::Placement placement = make_placement(launch);
  std::ostream& log = rank_log(placement, log_in);
  const bool live = live_progress && placement.rank() == 0;
  TrainerWithData t = make_trainer(config, log, live, std::move(placement));
  t.log = &log;
  apply_cpu_share(config, t.trainer->placement());
  describe_placement(*t.trainer, log);
  return t;
}

// One line saying what `--precision auto` chose on `device` and why.
std::string auto_precision_line(const std::string& chosen, const torch::Device& device) {
  const bool native = model::cpu_has_native_bf16();
  const std::string why = !device.is_cpu() ? device.str() + ", where bf16 is not validated"
                          : native && chosen == "bf16" ? "CPU has native bf16"
                          // The data-parallel group agreed on fp32 (train/trainer.cpp).
                          : native ? "CPU has native bf16, but another process of the group has not"
                                   : "CPU has no native bf16 (AVX512_BF16 or AMX-BF16), which makes bf16 slower "
                                     "than fp32";
  return fmt::format("precision: {} (auto: {})", chosen, why);
}

// What the end of an epoch writes besides last.ckpt: best.ckpt and model_best.pt when the
// epoch was the best so far, and the log, regenerated from the trainer's history (which the
// checkpoint carries), so that after a resume it holds exactly the epochs the weights have seen.
void write_epoch_outputs(train::Trainer& trainer, const fs::path& run_dir, const train::EpochStats& s) {
  if (s.best) {
    // The best checkpoint is this epoch's: copy the file rather than serialise twice.
    write_atomically(run_dir / "checkpoints" / "best.ckpt", [&](const fs::path& tmp) {
      fs::copy_file(run_dir / "checkpoints" / "last.ckpt", tmp, fs::copy_options::overwrite_existing);
    });
    auto model = trainer.model();
    model::save_weights(model, run_dir / "model_best.pt");
  }
  std::string jsonl;
  for (const auto& e : trainer.history()) jsonl += train::epoch_stats_to_json(e).dump() + "\n";
  write_text_atomically(run_dir / "train_log.jsonl", jsonl);
}

// What the end of training writes: model.pt (the final weights), summary.json, the last line.
void seal_run(train::Trainer& trainer, const fs::path& run_dir, double seconds, std::ostream& log) {
  auto model = trainer.model();
  model::save_weights(model, run_dir / "model.pt");

  const auto& all = trainer.history();
  int64_t skipped = 0, corrupt = 0;
  int64_t best_epoch = 0;
  for (const auto& s : all) {
    skipped += s.skipped_steps;
    corrupt += s.corrupt_images;
    if (s.best) best_epoch = s.epoch;
  }
  nlohmann::json summary{{"epochs", trainer.epochs_done()}, {"global_steps", trainer.global_step()},
                         {"final_val_map", all.back().val_map}, {"best_val_map", trainer.best_map()},
                         {"best_epoch", best_epoch}, {"skipped_steps", skipped}, {"corrupt_images", corrupt},
                         {"seconds_this_session", seconds}};
  write_text_atomically(run_dir / "summary.json", summary.dump(2) + "\n");
  log << fmt::format("done: {} epochs, final val mAP {:.2f}, best {:.2f} (epoch {}), {} skipped steps, {:.0f} s; "
                     "wrote {}",
                     trainer.epochs_done(), 100.0 * all.back().val_map, 100.0 * trainer.best_map(), best_epoch,
                     skipped, seconds, (run_dir / "model.pt").string())
      << std::endl;
}

// Trains the remaining epochs of `trainer`, writing logs and checkpoints after each (rank 0 only).
std::vector<train::EpochStats> train_into(train::Trainer& trainer, const fs::path& run_dir, std::ostream& log) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool writer = trainer.placement().rank() == 0;
  auto history = trainer.fit([&](const train::EpochStats& s) {
    if (!writer) return;
    trainer.save_checkpoint(run_dir / "checkpoints" / "last.ckpt");
    write_epoch_outputs(trainer, run_dir, s);
  });
  if (writer) seal_run(trainer, run_dir, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), log);
  return history;
}

// The start of a new run: the configuration resolved on the trainer's device and written to
// config.json (rank 0), then the epochs.
std::vector<train::EpochStats> start_run(train::TrainConfig config, const fs::path& run_dir, std::ostream& log_in,
                                         bool live_progress, const TrainLaunch& launch) {
  TrainerWithData t = start_trainer(config, log_in, live_progress, launch);
  train::Trainer& trainer = *t.trainer;
  std::ostream& log = *t.log;
  if (config.precision == "auto") {
    // The Trainer resolved it for its device; the run directory keeps the resolved value, so
    // a resume (and `edge eval`) computes in the same precision on any machine.
    config.precision = trainer.config().precision;
    log << auto_precision_line(config.precision, trainer.placement().device) << std::endl;
  }
  if (config.channels_last == "auto") {
    config.channels_last = trainer.config().channels_last;
    log << fmt::format("layout: {} (auto: {})", config.channels_last == "true" ? "channels-last" : "NCHW",
                       config.channels_last == "true" ? "the faster layout on a CPU" : "the layout on a GPU")
        << std::endl;
  }
  if (trainer.placement().rank() == 0) {
    nlohmann::json cfg = config;
    cfg["provenance"] = provenance(config);
    write_text_atomically(run_dir / "config.json", cfg.dump(2) + "\n");
  }
  return train_into(trainer, run_dir, log);
}

// Whether this process writes the run (rank 0 of a launch, or the only process).
bool writes_run() { return dist::launch_env_from_environment().rank == 0; }

}  // namespace

std::vector<train::EpochStats> run_train(const train::TrainConfig& given, const fs::path& run_dir, std::ostream& log_in,
                                         bool live_progress, const TrainLaunch& launch) {
  train::TrainConfig config = given;
  config.data.resolve_default_paths();
  config.validate();
  const bool created = !fs::exists(run_dir);
  std::optional<RunLock> lock;
  if (writes_run()) lock.emplace(run_dir, "--out");
  const auto last = run_dir / "checkpoints" / "last.ckpt";
  if (fs::exists(last))
    throw UsageError(fmt::format("--out: {} already holds a run (continue it with --resume {}, or choose another "
                                 "directory)", run_dir.string(), run_dir.string()));
  try {
    return start_run(std::move(config), run_dir, log_in, live_progress, launch);
  } catch (...) {
    // A run that failed before its first epoch ended is no run: the directory it made goes
    // (a later epoch's failure leaves a run to resume).
    std::error_code ec;
    if (lock && created && !fs::exists(last)) fs::remove_all(run_dir, ec);
    throw;
  }
}

std::vector<train::EpochStats> resume_train(const fs::path& run_dir, std::ostream& log_in, bool live_progress,
                                            const TrainLaunch& launch) {
  train::TrainConfig config = train::load_run_config(run_dir);
  std::optional<RunLock> lock;
  if (writes_run()) lock.emplace(run_dir, "--resume");
  const auto ckpt = run_dir / "checkpoints" / "last.ckpt";
  if (!fs::exists(ckpt)) {
    // Stopped before its first epoch ended (kill -9, a power cut): nothing to continue, so the
    // run starts again from epoch 1 with its stored (resolved) configuration, which gives the
    // weights the uninterrupted run would have had.
    log_in << fmt::format("{} has no completed epoch: starting it again from epoch 1 with its stored configuration",
                          run_dir.string())
           << std::endl;
    return start_run(std::move(config), run_dir, log_in, live_progress, launch);
  }
  TrainerWithData t = start_trainer(config, log_in, live_progress, launch);
  train::Trainer& trainer = *t.trainer;
  std::ostream& log = *t.log;
  trainer.restore_checkpoint(ckpt);
  log << fmt::format("resuming {} after epoch {}/{} (global step {})", run_dir.string(), trainer.epochs_done(),
                     config.n_epoch, trainer.global_step())
      << std::endl;
  if (trainer.epochs_done() >= config.n_epoch) {
    if (fs::exists(run_dir / "model.pt") && fs::exists(run_dir / "summary.json")) {
      log << "nothing to do: the run is complete" << std::endl;
      return {};
    }
    // Stopped after its last checkpoint but before the end of training was written: write
    // now what the last epoch and the end of training would have written.
    log << "the run's epochs are done but it was stopped before its end was written: writing it now" << std::endl;
    if (trainer.placement().rank() == 0) {
      write_epoch_outputs(trainer, run_dir, trainer.history().back());
      seal_run(trainer, run_dir, 0.0, log);
    }
    return {};
  }
  return train_into(trainer, run_dir, log);
}

}  // namespace edge::app
