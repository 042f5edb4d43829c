#include "edge/serve/batcher.h"

#include <torch/torch.h>

#include "edge/serve/request.h"

namespace edge::serve {

Batcher::Batcher(Forward forward, int64_t max_batch, std::chrono::microseconds max_wait, OnBatch on_batch)
    : forward_(std::move(forward)), max_batch_(max_batch), max_wait_(max_wait), on_batch_(std::move(on_batch)) {
  TORCH_CHECK(max_batch_ >= 1, "Batcher: max_batch must be >= 1, got ", max_batch_);
  TORCH_CHECK(max_wait_.count() >= 0, "Batcher: max_wait must be >= 0, got ", max_wait_.count(), " us");
  thread_ = std::thread([this] { loop(); });
}

Batcher::~Batcher() { stop(); }

Batcher::Arrival::Arrival(Batcher& b) : b_(&b) {
  std::lock_guard<std::mutex> lock(b_->mu_);
  ++b_->arriving_;
}

void Batcher::Arrival::release() {
  if (!b_) return;
  {
    std::lock_guard<std::mutex> lock(b_->mu_);
    --b_->arriving_;
  }
  b_->cv_.notify_all();
  b_ = nullptr;
}

std::future<torch::Tensor> Batcher::submit(torch::Tensor input, const Arrival* own) {
  Item item{std::move(input), {}, std::chrono::steady_clock::now()};
  std::future<torch::Tensor> f = item.result.get_future();
  bool run_here = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw RequestError(503, "shutting_down", "the server is shutting down");
    run_here = own && own->b_ == this && !busy_ && queue_.empty() && arriving_ == 1;
    if (run_here)
      busy_ = true;  // the batcher thread waits for it (next_batch)
    else
      queue_.push_back(std::move(item));
  }
  if (run_here) {
    std::vector<Item> alone;
    alone.push_back(std::move(item));
    run(alone);
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = false;
  }
  cv_.notify_all();
  return f;
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Waits for work, then until the batch is full, its oldest image has waited max_wait, or no
// other image is on its way (no waiting once stopping: the queue is drained as fast as it
// runs). Empty: stop.
std::vector<Batcher::Item> Batcher::next_batch(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [&] { return !busy_ && (!queue_.empty() || stopping_); });
  if (queue_.empty()) return {};
  cv_.wait_until(lock, queue_.front().queued + max_wait_,
                 [&] { return int64_t(queue_.size()) >= max_batch_ || arriving_ == 0 || stopping_; });
  std::vector<Item> batch;
  const auto shape = queue_.front().input.sizes().vec();
  // Same-shaped inputs only (torch::stack); the others keep their place for the next pass.
  for (auto it = queue_.begin(); it != queue_.end() && int64_t(batch.size()) < max_batch_;) {
    if (it->input.sizes().vec() == shape) {
      batch.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

void Batcher::run(std::vector<Item>& batch) {
  torch::Tensor out;
  try {
    std::vector<torch::Tensor> inputs;
    inputs.reserve(batch.size());
    for (const auto& item : batch) inputs.push_back(item.input);
    out = forward_(torch::stack(inputs));
    TORCH_CHECK(out.dim() >= 1 && out.size(0) == int64_t(batch.size()), "Batcher: the forward pass returned ",
                out.sizes(), " for ", batch.size(), " inputs");
  } catch (...) {
    for (auto& item : batch) item.result.set_exception(std::current_exception());
    out = torch::Tensor();
  }
  if (on_batch_) on_batch_(int64_t(batch.size()));  // before the answers: a client that has one sees it counted
  if (out.defined())
    for (size_t i = 0; i < batch.size(); ++i) batch[i].result.set_value(out[int64_t(i)]);
}

void Batcher::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    std::vector<Item> batch = next_batch(lock);
    if (batch.empty()) return;  // stopping and drained
    busy_ = true;
    lock.unlock();
    run(batch);
    lock.lock();
    busy_ = false;
  }
}

}  // namespace edge::serve
