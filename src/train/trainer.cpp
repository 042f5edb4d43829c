#include "edge/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/eval/predict.h"
#include "edge/train/losses.h"
#include "edge/train/one_cycle.h"

namespace edge::train {

namespace {

using Clock = std::chrono::steady_clock;

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  return s >= 60 ? fmt::format("{}m{:02d}s", s / 60, s % 60) : fmt::format("{}s", s);
}

// Flips the images selected by `mask` (one bool per sample) horizontally.
torch::Tensor flip_some(const torch::Tensor& x, const std::vector<uint8_t>& mask) {
  const auto m = torch::from_blob(const_cast<uint8_t*>(mask.data()), {int64_t(mask.size()), 1, 1, 1},
                                  torch::kUInt8).to(torch::kBool);
  return torch::where(m, x.flip({3}), x);
}

double item(const torch::Tensor& t) { return t.defined() ? t.item<double>() : 0.0; }

}  // namespace

void set_threads(int64_t threads) {
  const int64_t n = threads > 0 ? threads : std::max<int64_t>(1, std::thread::hardware_concurrency());
  torch::set_num_threads(static_cast<int>(n));
}

Trainer::Trainer(const TrainConfig& config, const data::Benchmark& data, std::ostream& log)
    : config_(config), data_(data), log_(log), rng_(config.seed) {
  config_.validate();
  TORCH_CHECK(data.id_train.size() >= config_.batch_size, "Trainer: ID training set smaller than one batch");
  if (config_.score == "joint" && data.oe_train.size() == 0)
    throw UsageError("--score joint needs an OE training set, got an empty one");
  set_threads(config_.threads);
  torch::manual_seed(config_.seed);
  model_ = model::MultiLabelNet(config_.model);
  steps_per_epoch_ = data.id_train.size() / config_.batch_size;
  if (config_.opt == "sgd") {
    optimizer_ = std::make_unique<torch::optim::SGD>(
        model_->parameters(), torch::optim::SGDOptions(config_.l_rate)
                                  .momentum(0.9).nesterov(true).weight_decay(config_.weight_decay));
  } else {
    optimizer_ = std::make_unique<torch::optim::Adam>(
        model_->parameters(), torch::optim::AdamOptions(config_.l_rate).weight_decay(config_.weight_decay));
  }
}

torch::Tensor Trainer::next_oe_indices() {
  std::vector<int64_t> idx(config_.oe_batch_size);
  for (auto& i : idx) {
    if (oe_pos_ == oe_order_.size()) {  // cycle: reshuffle whenever the stream is exhausted
      oe_order_.resize(data_.oe_train.size());
      std::iota(oe_order_.begin(), oe_order_.end(), 0);
      std::shuffle(oe_order_.begin(), oe_order_.end(), rng_);
      oe_pos_ = 0;
    }
    i = oe_order_[oe_pos_++];
  }
  return torch::tensor(idx, torch::kInt64);
}

EpochStats Trainer::run_epoch(int64_t epoch) {
  const auto t0 = Clock::now();
  model_->train();
  const bool joint = config_.score == "joint";
  const double beta = epoch >= config_.start_epoch ? config_.energy_beta : 0.0;
  const OneCycleSchedule schedule({config_.l_rate, config_.n_epoch * steps_per_epoch_, config_.pct_start});
  const double mean = data::kFashionLtMean, std = data::kFashionLtStd;

  std::vector<int64_t> order(data_.id_train.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng_);

  EpochStats st;
  st.epoch = epoch;
  st.beta = beta;
  int64_t images = 0;
  std::bernoulli_distribution coin(0.5);
  for (int64_t step = 0; step < steps_per_epoch_; ++step, ++global_step_) {
    const auto id_idx = torch::tensor(std::vector<int64_t>(order.begin() + step * config_.batch_size,
                                                           order.begin() + (step + 1) * config_.batch_size),
                                      torch::kInt64);
    torch::Tensor x = data_.id_train.images.index_select(0, id_idx);
    const torch::Tensor y = data_.id_train.labels.index_select(0, id_idx);
    if (joint) x = torch::cat({x, data_.oe_train.images.index_select(0, next_oe_indices())});
    torch::Tensor input = data::to_float_input(x, mean, std);
    if (config_.hflip) {
      std::vector<uint8_t> mask(input.size(0));
      for (auto& v : mask) v = coin(rng_);
      input = flip_some(input, mask);
    }

    // Schedule is applied before the update, as PyTorch's scheduler leaves it after step().
    for (auto& group : optimizer_->param_groups()) {
      if (config_.opt == "sgd") {
        auto& o = static_cast<torch::optim::SGDOptions&>(group.options());
        o.lr(schedule.lr(global_step_));
        o.momentum(schedule.momentum(global_step_));
      } else {
        auto& o = static_cast<torch::optim::AdamOptions&>(group.options());
        o.lr(schedule.lr(global_step_));
        o.betas({schedule.momentum(global_step_), std::get<1>(o.betas())});
      }
    }

    const torch::Tensor logits = model_->forward(input);
    const int64_t b_in = config_.batch_size;
    const LossTerms terms = joint
        ? edge_loss(logits.slice(0, 0, b_in), y, logits.slice(0, b_in),
                    EdgeLossParams{config_.alpha, beta, config_.k, config_.m})
        : bce_loss(logits, y);
    const double loss_v = terms.total.item<double>();
    if (!std::isfinite(loss_v))
      throw NumericError(fmt::format("non-finite loss at epoch {} step {} (global step {}): total {} bce {} "
                                     "conf {} gap {}; lower --l_rate or check the data",
                                     epoch + 1, step + 1, global_step_, loss_v, item(terms.bce),
                                     item(terms.conf), item(terms.gap)));
    optimizer_->zero_grad();
    terms.total.backward();
    optimizer_->step();

    st.loss += loss_v;
    st.bce += item(terms.bce);
    st.conf += item(terms.conf);
    st.gap += item(terms.gap);
    st.lr = schedule.lr(global_step_);
    images += input.size(0);
  }
  const double n = double(std::max<int64_t>(1, steps_per_epoch_));
  st.loss /= n; st.bce /= n; st.conf /= n; st.gap /= n;
  const double train_s = std::chrono::duration<double>(Clock::now() - t0).count();
  st.images_per_s = images / std::max(1e-9, train_s);
  st.val_map = data_.id_val.size() > 0
      ? eval::validation_map(model_, data_.id_val, config_.eval_batch_size, mean, std) : std::nan("");
  st.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return st;
}

std::vector<EpochStats> Trainer::fit(const std::function<void(const EpochStats&)>& on_epoch) {
  std::vector<EpochStats> history;
  double elapsed = 0;
  for (int64_t epoch = 0; epoch < config_.n_epoch; ++epoch) {
    const EpochStats st = run_epoch(epoch);
    history.push_back(st);
    elapsed += st.seconds;
    const double eta = elapsed / double(epoch + 1) * double(config_.n_epoch - epoch - 1);
    std::string terms = fmt::format("bce {:.4f}", st.bce);
    if (config_.score == "joint") terms += fmt::format(" conf {:.4f} gap {:.4f} (beta {:g})", st.conf, st.gap, st.beta);
    log_ << fmt::format("[{}] epoch {:>3}/{}  loss {:.4f} = {}  lr {:.2e}  val mAP {:.2f}  {:.0f} img/s  {}  ETA {}",
                        config_.score, epoch + 1, config_.n_epoch, st.loss, terms, st.lr, 100.0 * st.val_map,
                        st.images_per_s, format_duration(st.seconds), format_duration(eta))
         << std::endl;
    if (on_epoch) on_epoch(st);
  }
  return history;
}

}  // namespace edge::train
