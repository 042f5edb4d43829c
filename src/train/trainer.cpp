#include "edge/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/allocator.h"
#include "edge/common/error.h"
#include "edge/common/interrupt.h"
#include "edge/common/json_fields.h"
#include "edge/data/loader.h"
#include "edge/train/checkpoint_file.h"
#include "edge/train/predict.h"

namespace edge::train {

namespace {

using Clock = std::chrono::steady_clock;

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  return s >= 60 ? fmt::format("{}m{:02d}s", s / 60, s % 60) : fmt::format("{}s", s);
}

// The signal that ends training now and the rank that received it ({0, 0}: none). Alone, the
// pending one. Data-parallel, the ranks agree at every step (one all-reduce of each rank's
// pending signal; the lowest rank that has one decides): a signal reaches one rank, or all of
// them at slightly different steps, and a rank stopping alone would make the others fail in
// their next collective (a lost peer: exit 1, a second line, a different code).
std::pair<int, int> agreed_interrupt(const Placement& placement) {
  if (!placement.comm) return {pending_interrupt(), 0};
  const int world = placement.world_size();
  std::vector<torch::Tensor> io{torch::zeros({world}, torch::TensorOptions(torch::kFloat64).device(placement.device))};
  io[0][placement.rank()] = double(pending_interrupt());
  placement.comm->all_reduce_sum(io);
  const torch::Tensor host = io[0].cpu();
  const double* signals = host.data_ptr<double>();
  for (int r = 0; r < world; ++r)
    if (signals[r] != 0) return {static_cast<int>(signals[r]), r};
  return {0, 0};
}

// Flips the images selected by `mask` (one byte per sample) horizontally.
torch::Tensor flip_some(const torch::Tensor& x, const std::vector<uint8_t>& mask) {
  const auto m = torch::from_blob(const_cast<uint8_t*>(mask.data()), {int64_t(mask.size()), 1, 1, 1},
                                  torch::kUInt8).to(torch::kBool);
  return torch::where(m, x.flip({3}), x);
}

// This rank's part of the flip coins of a global [ID ; OE] batch: its ID shard, then its OE shard.
std::vector<uint8_t> local_shard_mask(const std::vector<uint8_t>& coins, int64_t b_in, const Placement& placement) {
  if (placement.world_size() == 1) return coins;
  const auto [ib, ie] = shard_range(b_in, placement.rank(), placement.world_size());
  std::vector<uint8_t> mask(coins.begin() + ib, coins.begin() + ie);
  if (int64_t(coins.size()) > b_in) {
    const auto [ob, oe] = shard_range(int64_t(coins.size()) - b_in, placement.rank(), placement.world_size());
    mask.insert(mask.end(), coins.begin() + b_in + ob, coins.begin() + b_in + oe);
  }
  return mask;
}

std::string terms_text(const std::vector<std::pair<std::string, double>>& terms) {
  std::string s;
  for (const auto& [name, v] : terms) s += fmt::format("{}{} {:.4f}", s.empty() ? "" : " ", name, v);
  return s;
}

}  // namespace

nlohmann::json epoch_stats_to_json(const EpochStats& s) {
  nlohmann::json terms = nlohmann::json::object();
  for (const auto& [n, v] : s.terms) terms[n] = v;
  return {{"epoch", s.epoch}, {"loss", s.loss}, {"terms", terms}, {"beta", s.beta}, {"lr", s.lr},
          {"val_map", s.val_map}, {"images_per_s", s.images_per_s}, {"seconds", s.seconds},
          {"skipped_steps", s.skipped_steps}, {"corrupt_images", s.corrupt_images}, {"best", s.best}};
}

namespace {

EpochStats stats_from_json(const nlohmann::json& j) {
  EpochStats s;
  read_json_field(j, "epoch", s.epoch);
  read_json_field(j, "loss", s.loss);
  for (const auto& [n, v] : j.at("terms").items()) s.terms.emplace_back(n, v.get<double>());
  read_json_field(j, "beta", s.beta);
  read_json_field(j, "lr", s.lr);
  read_json_field(j, "val_map", s.val_map);
  read_json_field(j, "images_per_s", s.images_per_s);
  read_json_field(j, "seconds", s.seconds);
  read_json_field(j, "skipped_steps", s.skipped_steps);
  s.corrupt_images = read_json_field_or(j, "corrupt_images", int64_t{0});
  read_json_field(j, "best", s.best);
  return s;
}

// Backbone parameters and head parameters, for their separate learning rates.
std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>> split_parameters(model::MultiLabelNet& net) {
  std::vector<torch::Tensor> backbone, head;
  for (const auto& child : net->named_children()) {
    auto params = child.value()->parameters();
    auto& dst = child.key() == "backbone" ? backbone : head;
    dst.insert(dst.end(), params.begin(), params.end());
  }
  return {backbone, head};
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

void set_threads(int64_t threads) {
  const int64_t n = threads > 0 ? threads : std::max<int64_t>(1, std::thread::hardware_concurrency());
  torch::set_num_threads(static_cast<int>(n));
}

// The input pipeline's loaders for the PipelineData constructor.
struct Trainer::Pipeline {
  PipelineData data;
  std::unique_ptr<data::Loader> id, oe;

  Pipeline(PipelineData d, const TrainConfig& config, std::ostream& log) : data(std::move(d)) {
    data::LoaderOptions o;
    o.workers = data.workers;
    o.seed = config.seed;
    o.stream = 0;
    id = std::make_unique<data::Loader>(data.id_train, data.train_transform, o, &log);
    if (data.oe_train.size() > 0) {
      o.stream = 1;
      oe = std::make_unique<data::Loader>(data.oe_train, data.train_transform, o, &log);
    }
  }
};

Trainer::Trainer(const TrainConfig& config, PipelineData data, std::ostream& log, bool live_progress,
                 Placement placement)
    : config_(config), mode_(parse_mode(config.objective)), log_(log), live_progress_(live_progress),
      placement_(std::move(placement)), rng_(config.seed) {
  if (!data.id_train.has_labels())
    throw UsageError(fmt::format("--dataset: {} has no labels; training needs a labelled ID set", data.id_train.name));
  pipe_ = std::make_unique<Pipeline>(std::move(data), config_, log_);
  init(pipe_->data.id_train.size(), pipe_->data.oe_train.size());
}

Trainer::~Trainer() = default;

void Trainer::init(int64_t id_train_size, int64_t oe_train_size) {
  config_.validate();
  oe_size_ = oe_train_size;
  if (id_train_size < config_.batch_size)
    throw UsageError(fmt::format("--batch_size {} exceeds the ID training set ({} images)", config_.batch_size,
                                 id_train_size));
  if (uses_outliers(mode_) && oe_train_size == 0)
    throw UsageError(fmt::format("--score {} needs an OE training set, got an empty one", config_.objective));
  set_threads(config_.threads);
  keep_freed_memory();
  const int world = placement_.world_size();
  for (const auto& [flag, n] : {std::pair<const char*, int64_t>{"--batch_size", config_.batch_size},
                                {"--oe_batch_size", config_.oe_batch_size}})
    if (n % world != 0)
      throw UsageError(fmt::format("{} {} is the global batch and must divide evenly among the {} training processes",
                                   flag, n, world));
  torch::manual_seed(config_.seed);
  model_ = model::build_model(config_.model);
  // `auto` becomes fp32 or bf16 here, before anything (a checkpoint, config()) can see it.
  const bool auto_precision = config_.precision == "auto";
  config_.precision = model::resolve_precision(config_.precision, placement_.device);
  if (auto_precision && placement_.comm) {
    // Each rank resolved `auto` on its own CPU; ranks on different CPU generations would then
    // train in different precisions. The group computes in bf16 only if every rank can.
    std::vector<torch::Tensor> fp32_ranks{
        torch::full({1}, config_.precision == "fp32" ? 1.0f : 0.0f, torch::TensorOptions().device(placement_.device))};
    placement_.comm->all_reduce_sum(fp32_ranks);
    if (fp32_ranks[0].item<float>() > 0) config_.precision = "fp32";
  }
  // The layout follows the (agreed) precision, so every rank of a group resolves it alike.
  config_.resolve_compute_mode(placement_.device);
  compute_ = config_.compute_mode();
  if (compute_.channels_last) model::to_channels_last(*model_);
  model_->to(placement_.device);
  if (placement_.comm) broadcast_module(*model_, *placement_.comm);  // identical start on every rank
  steps_per_epoch_ = id_train_size / config_.batch_size;
  schedule_ = std::make_unique<LrSchedule>(config_.schedule, config_.l_rate, config_.n_epoch * steps_per_epoch_,
                                           config_.pct_start);
  auto [backbone, head] = split_parameters(model_);
  if (config_.opt == "sgd") {
    auto opts = torch::optim::SGDOptions(config_.l_rate)
                    .momentum(config_.momentum).nesterov(config_.nesterov).weight_decay(config_.weight_decay);
    optimizer_ = std::make_unique<torch::optim::SGD>(
        std::vector<torch::optim::OptimizerParamGroup>{
            {backbone, std::make_unique<torch::optim::SGDOptions>(opts)},
            {head, std::make_unique<torch::optim::SGDOptions>(opts)}},
        opts);
  } else {
    auto opts = torch::optim::AdamOptions(config_.l_rate).weight_decay(config_.weight_decay);
    optimizer_ = std::make_unique<torch::optim::Adam>(
        std::vector<torch::optim::OptimizerParamGroup>{
            {backbone, std::make_unique<torch::optim::AdamOptions>(opts)},
            {head, std::make_unique<torch::optim::AdamOptions>(opts)}},
        opts);
  }
}

std::vector<int64_t> Trainer::local_shard(const std::vector<int64_t>& global) const {
  const auto [begin, end] = shard_range(int64_t(global.size()), placement_.rank(), placement_.world_size());
  return std::vector<int64_t>(global.begin() + begin, global.begin() + end);
}

torch::Tensor Trainer::next_oe_indices() {
  std::vector<int64_t> idx(config_.oe_batch_size);
  for (auto& i : idx) {
    if (oe_pos_ == int64_t(oe_order_.size())) {  // cycle: reshuffle whenever the stream is exhausted
      oe_order_.resize(size_t(oe_size_));
      std::iota(oe_order_.begin(), oe_order_.end(), 0);
      std::shuffle(oe_order_.begin(), oe_order_.end(), rng_);
      oe_pos_ = 0;
    }
    i = oe_order_[oe_pos_++];
  }
  return torch::tensor(local_shard(idx), torch::kInt64);
}

void Trainer::apply_schedule() {
  // Set before the update, as PyTorch's scheduler leaves the values after step().
  const double lr = schedule_->lr(global_step_);
  const auto momentum = schedule_->momentum(global_step_);
  auto& groups = optimizer_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const double group_lr = g == 0 ? lr * config_.backbone_lr_mult : lr;  // group 0 = backbone
    if (config_.opt == "sgd") {
      auto& o = static_cast<torch::optim::SGDOptions&>(groups[g].options());
      o.lr(group_lr);
      if (momentum) o.momentum(*momentum);
    } else {
      auto& o = static_cast<torch::optim::AdamOptions&>(groups[g].options());
      o.lr(group_lr);
      if (momentum) o.betas({*momentum, std::get<1>(o.betas())});
    }
  }
}

ObjectiveParams Trainer::objective_params(int64_t epoch) const {
  ObjectiveParams params;
  params.edge = EdgeLossParams{config_.alpha, epoch >= config_.start_epoch ? config_.energy_beta : 0.0,
                               config_.k, config_.m};
  params.m_in = config_.m_in;
  params.m_out = config_.m_out;
  params.lambda_1 = config_.lambda_1;
  params.lambda_2 = config_.lambda_2;
  params.a_tr = config_.a_tr;
  return params;
}

// Phase 1: the epoch's draws from the trainer's stream, in the order every earlier version
// drew them (the ID order, then per step the OE indices and the flip coins), handed to the
// loaders. Under data-parallel training each rank loads its shard of every global batch.
std::vector<std::vector<uint8_t>> Trainer::plan_epoch(int64_t epoch) {
  const bool with_oe = uses_outliers(mode_);
  const bool coins = pipe_->data.batch_flips && config_.hflip;
  std::vector<int64_t> order(pipe_->data.id_train.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng_);
  std::vector<std::vector<int64_t>> id_plan, oe_plan;
  std::vector<std::vector<uint8_t>> flips;
  std::bernoulli_distribution coin(0.5);
  for (int64_t s = 0; s < steps_per_epoch_; ++s) {
    id_plan.push_back(local_shard(std::vector<int64_t>(order.begin() + s * config_.batch_size,
                                                       order.begin() + (s + 1) * config_.batch_size)));
    if (with_oe) {
      const torch::Tensor idx = next_oe_indices();
      oe_plan.emplace_back(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel());
    }
    if (coins) {
      // Every rank draws the global batch's coins ([ID ; OE] order) and keeps its shards'.
      std::vector<uint8_t> c(config_.batch_size + (with_oe ? config_.oe_batch_size : 0));
      for (auto& v : c) v = coin(rng_);
      flips.push_back(local_shard_mask(c, config_.batch_size, placement_));
    }
  }
  pipe_->id->start(epoch, std::move(id_plan));
  if (with_oe) pipe_->oe->start(epoch, std::move(oe_plan));
  return flips;
}

// Phase 2: the next [ID ; OE] batch from the loaders (decoded, augmented and normalised by
// their workers), flipped by this step's coins where the data asks for them, on the device.
std::pair<torch::Tensor, torch::Tensor> Trainer::next_batch(const std::vector<uint8_t>* flips) {
  data::Batch id_batch = *pipe_->id->next();
  torch::Tensor input = id_batch.images;
  if (uses_outliers(mode_)) input = torch::cat({input, pipe_->oe->next()->images});
  if (flips) input = flip_some(input, *flips);
  return {input.to(placement_.device), id_batch.labels.to(placement_.device)};
}

// Phase 3: forward pass, the mode's loss (global under data-parallel training), backward and
// update. Returns the loss terms' values, or nothing for a skipped non-finite step.
std::optional<Trainer::StepValues> Trainer::train_step(const torch::Tensor& input, const torch::Tensor& y,
                                                       const ObjectiveParams& params, int64_t epoch, int64_t step) {
  apply_schedule();
  torch::Tensor logits;
  {
    // bf16 autocast covers the forward pass only; the losses see fp32 logits.
    model::AutocastScope autocast(compute_.bf16);
    logits = model_->forward(model::to_input_format(input, compute_));
  }
  if (logits.scalar_type() != torch::kFloat32) logits = logits.to(torch::kFloat32);
  const int64_t b_in = config_.batch_size / placement_.world_size();
  const torch::Tensor z_in = logits.slice(0, 0, b_in);
  const torch::Tensor z_oe = uses_outliers(mode_) ? logits.slice(0, b_in) : torch::Tensor();
  LossTerms loss;
  torch::Tensor to_backward;
  if (placement_.comm) {
    DataParallelLoss dp = data_parallel_objective(mode_, z_in, y, z_oe, params, *placement_.comm);
    loss = std::move(dp.global);
    to_backward = dp.surrogate;
  } else {
    loss = compute_objective(mode_, z_in, y, z_oe, params);
    to_backward = loss.total;
  }
  StepValues v{loss.total.item<double>(), {}};
  for (const auto& [name, t] : loss.parts) v.terms.emplace_back(name, t.item<double>());
  if (!std::isfinite(v.total)) {
    std::string terms;
    for (const auto& [name, value] : v.terms) terms += fmt::format(" {} {}", name, value);
    if (!config_.skip_nonfinite)
      throw NumericError(fmt::format("non-finite loss at epoch {} step {} (global step {}): total {}{}; lower "
                                     "--l_rate, check the data, or pass --skip_nonfinite",
                                     epoch + 1, step + 1, global_step_ + 1, v.total, terms));
    log_ << fmt::format("warning: skipped step {} of epoch {} (non-finite loss: total {}{})", step + 1, epoch + 1,
                        v.total, terms)
         << std::endl;
    return std::nullopt;
  }
  optimizer_->zero_grad();
  to_backward.backward();
  if (placement_.comm) all_reduce_gradients(model_->parameters(), *placement_.comm);
  optimizer_->step();
  return v;
}

void Trainer::draw_progress(const EpochStats& st, int64_t epoch, int64_t step, int64_t finite_steps, double images,
                            double elapsed) const {
  const double frac = double(step + 1) / double(steps_per_epoch_);
  const int filled = static_cast<int>(frac * 30);
  log_ << fmt::format("\r[{}] epoch {}/{} [{}{}] {:3.0f}%  loss {:.4f}  {:.0f} img/s  epoch ETA {}\x1b[K",
                      config_.objective, epoch + 1, config_.n_epoch, std::string(filled, '#'),
                      std::string(30 - filled, '.'), 100 * frac, st.loss / double(finite_steps), images / elapsed,
                      format_duration(elapsed / frac - elapsed))
       << std::flush;
}

void Trainer::stop_if_interrupted(int64_t epoch, int64_t step) const {
  const auto [sig, by_rank] = agreed_interrupt(placement_);
  if (sig == 0) return;
  // Only rank 0 speaks (as on stdout); the others end with the same code and no line.
  const std::string who =
      placement_.comm ? fmt::format(" (received by rank {} of {})", by_rank, placement_.world_size()) : "";
  throw Interrupted(sig, placement_.rank() != 0
                             ? ""
                             : fmt::format("interrupted by {}{} in epoch {} at step {}/{}: that epoch is abandoned, "
                                           "the last checkpoint ({}) is intact; continue with `edge train --resume "
                                           "RUN_DIR`",
                                           signal_name(sig), who, epoch + 1, step, steps_per_epoch_,
                                           epoch == 0 ? "none yet" : fmt::format("after epoch {}", epoch)));
}

EpochStats Trainer::run_epoch() {
  const auto t0 = Clock::now();
  model_->train();
  if (config_.freeze_bn) freeze_batch_norm(*model_);
  const int64_t epoch = epochs_done_;  // 0-based index of this epoch
  const ObjectiveParams params = objective_params(epoch);
  const std::vector<std::vector<uint8_t>> flips = plan_epoch(epoch);

  EpochStats st;
  st.epoch = epoch + 1;
  st.beta = params.edge.beta;
  int64_t images = 0, finite_steps = 0;
  auto last_draw = Clock::now();
  for (int64_t step = 0; step < steps_per_epoch_; ++step, ++global_step_) {
    stop_if_interrupted(epoch, step);
    const auto [input, y] = next_batch(flips.empty() ? nullptr : &flips[size_t(step)]);
    const std::optional<StepValues> v = train_step(input, y, params, epoch, step);
    if (!v) {
      ++st.skipped_steps;
      continue;
    }
    ++finite_steps;
    st.loss += v->total;
    if (st.terms.empty())
      for (const auto& [name, value] : v->terms) st.terms.emplace_back(name, 0.0);
    for (size_t i = 0; i < v->terms.size(); ++i) st.terms[i].second += v->terms[i].second;
    st.lr = schedule_->lr(global_step_);
    images += input.size(0) * placement_.world_size();
    if (live_progress_ && std::chrono::duration<double>(Clock::now() - last_draw).count() > 0.5) {
      last_draw = Clock::now();
      draw_progress(st, epoch, step, finite_steps, double(images), std::chrono::duration<double>(last_draw - t0).count());
    }
  }
  if (live_progress_) log_ << "\r\x1b[K" << std::flush;
  const double n = double(std::max<int64_t>(1, finite_steps));
  st.loss /= n;
  for (auto& t : st.terms) t.second /= n;
  if (placement_.comm && !config_.freeze_bn) average_batch_norm_statistics(*model_, *placement_.comm);
  st.images_per_s = images / std::max(1e-9, std::chrono::duration<double>(Clock::now() - t0).count());
  st.corrupt_images = pipe_->id->corrupt_this_epoch() + (pipe_->oe ? pipe_->oe->corrupt_this_epoch() : 0);
  st.val_map = validate();
  st.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ++epochs_done_;
  if (std::isfinite(st.val_map) && st.val_map > best_map_) {
    best_map_ = st.val_map;
    st.best = true;
  }
  return st;
}

// Phase 4: validation mAP in the training's compute mode (NaN without a validation set).
double Trainer::validate() {
  const PipelineData& d = pipe_->data;
  if (d.id_val.size() == 0) return std::nan("");
  return train::validation_map(model_, d.id_val, d.eval_transform, config_.eval_batch_size, d.workers, &log_, compute_);
}

EpochStats Trainer::train_epoch() {
  if (epochs_done_ >= config_.n_epoch)
    throw UsageError(fmt::format("train_epoch: all {} epochs of --n_epoch are done", config_.n_epoch));
  const EpochStats st = run_epoch();
  history_.push_back(st);
  session_seconds_ += st.seconds;
  ++session_epochs_;
  // ETA from the epochs run by this process (restored ones may come from another machine).
  const double eta = session_seconds_ / double(session_epochs_) * double(config_.n_epoch - epochs_done_);
  std::string extra = mode_ == Mode::Joint ? fmt::format(" (beta {:g})", st.beta) : "";
  if (st.skipped_steps) extra += fmt::format("  skipped {} non-finite steps", st.skipped_steps);
  if (st.corrupt_images) extra += fmt::format("  {} corrupt images replaced", st.corrupt_images);
  log_ << fmt::format("[{}] epoch {:>3}/{}  loss {:.4f} = {}{}  lr {:.2e}  val mAP {:.2f}{}  {:.0f} img/s  {}  ETA {}",
                      config_.objective, st.epoch, config_.n_epoch, st.loss, terms_text(st.terms), extra, st.lr,
                      100.0 * st.val_map, st.best ? "*" : " ", st.images_per_s, format_duration(st.seconds),
                      format_duration(eta))
       << std::endl;
  return st;
}

std::vector<EpochStats> Trainer::fit(const std::function<void(const EpochStats&)>& on_epoch) {
  std::vector<EpochStats> ran;
  while (epochs_done_ < config_.n_epoch) {
    ran.push_back(train_epoch());
    if (on_epoch) on_epoch(ran.back());
  }
  return ran;
}

void Trainer::save_checkpoint(const std::filesystem::path& file) const {
  nlohmann::json meta;
  meta["format_version"] = kCheckpointFormatVersion;
  meta["config"] = config_;
  meta["epochs_done"] = epochs_done_;
  meta["global_step"] = global_step_;
  meta["best_map"] = best_map_;
  meta["history"] = nlohmann::json::array();
  for (const auto& s : history_) meta["history"].push_back(epoch_stats_to_json(s));
  std::ostringstream rng_state;
  rng_state << rng_;
  meta["rng"] = rng_state.str();
  meta["oe_pos"] = oe_pos_;

  torch::serialize::OutputArchive archive;
  archive.write("meta", c10::IValue(meta.dump()));
  torch::serialize::OutputArchive model_archive, optim_archive;
  model_->save(model_archive);
  optimizer_->save(optim_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optim_archive);
  archive.write("oe_order", torch::tensor(oe_order_.empty() ? std::vector<int64_t>{-1} : oe_order_, torch::kInt64));
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("torch_rng", gen.get_state());
  }
  write_sealed_archive(file, archive);
}

void Trainer::restore_state(torch::serialize::InputArchive& archive, const std::filesystem::path& file) {
  c10::IValue meta_v;
  archive.read("meta", meta_v);
  const auto meta = nlohmann::json::parse(meta_v.toStringRef());
  const int64_t version = json_integer<int64_t>(meta.at("format_version"), "format_version");
  if (version != kCheckpointFormatVersion)
    throw DataError(fmt::format("checkpoint {} has format version {}, this program reads version {}",
                                file.string(), version, kCheckpointFormatVersion));
  // Through TrainConfig, so that keys added since (with their defaults) compare equal.
  if (nlohmann::json(meta.at("config").get<TrainConfig>()) != nlohmann::json(config_))
    throw DataError(fmt::format("checkpoint {} was written with another configuration than this run's",
                                file.string()));
  torch::serialize::InputArchive model_archive, optim_archive;
  archive.read("model", model_archive);
  archive.read("optimizer", optim_archive);
  model_->load(model_archive);
  optimizer_->load(optim_archive);
  torch::Tensor oe_order, torch_rng;
  archive.read("oe_order", oe_order);
  archive.read("torch_rng", torch_rng);
  oe_order = oe_order.cpu();  // load_from mapped everything onto the training device
  torch_rng = torch_rng.cpu();
  oe_order_.assign(oe_order.data_ptr<int64_t>(), oe_order.data_ptr<int64_t>() + oe_order.numel());
  if (oe_order_.size() == 1 && oe_order_[0] < 0) oe_order_.clear();
  oe_pos_ = json_integer<int64_t>(meta.at("oe_pos"), "oe_pos");
  std::istringstream(meta.at("rng").get<std::string>()) >> rng_;
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(torch_rng);
  }
  epochs_done_ = json_integer<int64_t>(meta.at("epochs_done"), "epochs_done");
  global_step_ = json_integer<int64_t>(meta.at("global_step"), "global_step");
  best_map_ = meta.at("best_map").get<double>();
  history_.clear();
  for (const auto& s : meta.at("history")) history_.push_back(stats_from_json(s));
}

void Trainer::restore_checkpoint(const std::filesystem::path& file) {
  torch::serialize::InputArchive archive;
  read_sealed_archive(file, placement_.device, archive);
  try {
    // The metadata is JSON: its parse and field errors name the file once, like torch's errors.
    with_json_errors([&] { restore_state(archive, file); },
                     [&](const char* what) {
                       return fmt::format("checkpoint {} has malformed metadata: {}", file.string(), what);
                     });
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("checkpoint {} is corrupt or not a training checkpoint: {}", file.string(),
                                first_line(e.what_without_backtrace())));
  }
}

}  // namespace edge::train
