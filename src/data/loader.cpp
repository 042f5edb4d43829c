#include "edge/data/loader.h"

#include <algorithm>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::data {

Loader::Loader(Dataset dataset, Transform transform, LoaderOptions options, std::ostream* warnings)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), options_(options), warnings_(warnings) {
  TORCH_CHECK(dataset_.images, "Loader: dataset ", dataset_.name, " has no image source");
  TORCH_CHECK(options_.workers >= 0 && options_.prefetch_batches >= 1,
              "Loader: expected workers >= 0 and prefetch_batches >= 1, got ", options_.workers, " and ",
              options_.prefetch_batches);
  pin_ = options_.pin_memory && torch::cuda::is_available();
  for (int64_t i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Loader::start(int64_t epoch, std::vector<std::vector<int64_t>> plan) {
  const int64_t n = dataset_.size();
  for (const auto& b : plan) {
    TORCH_CHECK(!b.empty(), "Loader::start: expected non-empty batches in the plan for ", dataset_.name);
    for (const int64_t i : b)
      TORCH_CHECK(i >= 0 && i < n, "Loader::start: index ", i, " out of range [0, ", n, ") for ", dataset_.name);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    epoch_ = epoch;
    plan_ = std::move(plan);
    batch_start_.assign(plan_.size(), 0);
    total_ = 0;
    for (size_t b = 0; b < plan_.size(); ++b) {
      batch_start_[b] = total_;
      total_ += int64_t(plan_[b].size());
    }
    next_pos_ = 0;
    consumed_ = 0;
    pending_.clear();
    error_ = nullptr;
    corrupt_epoch_ = 0;
  }
  work_cv_.notify_all();
}

int64_t Loader::corrupt_this_epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return corrupt_epoch_;
}

bool Loader::known_corrupt(int64_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  return corrupt_.count(index) > 0;
}

void Loader::note_corrupt(int64_t index, const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!corrupt_.insert(index).second) return;
  if (warnings_)
    *warnings_ << fmt::format("warning: skipping corrupt image {} of {} ({}); {}", dataset_.images->describe(index),
                              dataset_.name, what,
                              options_.on_corrupt == CorruptPolicy::Replace ? "its slot takes the next image"
                                                                            : "left out")
               << std::endl;
}

std::pair<torch::Tensor, int64_t> Loader::produce(uint64_t /*generation*/, int64_t epoch, int64_t pos, int64_t index,
                                                  int64_t& corrupt) {
  const int64_t n = dataset_.size();
  int64_t idx = index;
  for (int64_t tries = 0; tries < n; ++tries) {
    if (!known_corrupt(idx)) {
      try {
        // A fresh stream per try: a replacement image gets the slot's own draws.
        SampleRng rng(options_.seed, options_.stream, uint64_t(epoch), uint64_t(pos));
        return {transform_.apply_u8(*dataset_.images, idx, rng), idx};
      } catch (const DataError& e) {
        if (options_.on_corrupt == CorruptPolicy::Throw) throw;
        note_corrupt(idx, e.what());
      }
    }
    if (tries == 0) corrupt = 1;
    if (options_.on_corrupt == CorruptPolicy::Drop) return {torch::Tensor(), index};
    idx = (idx + 1) % n;
  }
  throw DataError(fmt::format("every image of {} is corrupt", dataset_.name));
}

Batch Loader::assemble(Pending& p) const {
  Batch out;
  out.corrupt = p.corrupt;
  std::vector<const torch::Tensor*> rows;
  for (size_t i = 0; i < p.images.size(); ++i)
    if (p.images[i].defined()) {
      rows.push_back(&p.images[i]);
      out.indices.push_back(p.indices[i]);
    }
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(pin_);
  if (rows.empty()) {
    out.images = torch::empty({0}, opts);
  } else {
    const auto shape = rows[0]->sizes().vec();
    std::vector<int64_t> full{int64_t(rows.size())};
    full.insert(full.end(), shape.begin(), shape.end());
    out.images = torch::empty(full, opts);
    for (size_t r = 0; r < rows.size(); ++r) {
      if (rows[r]->sizes() != rows[0]->sizes())
        throw DataError(fmt::format("{}: images {} and {} have different sizes after transform {} ({} vs {}); "
                                    "the transform must end with a fixed-size resize or crop",
                                    dataset_.name, dataset_.images->describe(out.indices[0]),
                                    dataset_.images->describe(out.indices[r]), transform_.name,
                                    fmt::join(shape, "x"), fmt::join(rows[r]->sizes(), "x")));
      transform_.normalize(*rows[r], out.images[int64_t(r)]);
    }
  }
  if (dataset_.has_labels() && !out.indices.empty()) {
    const auto idx = torch::tensor(out.indices, torch::kInt64);
    out.labels = dataset_.labels.index_select(0, idx).to(torch::kFloat32);
    if (pin_) out.labels = out.labels.pin_memory();
  }
  return out;
}

void Loader::worker_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] {
      if (stopping_) return true;
      if (error_ || next_pos_ >= total_) return false;
      const auto b = std::upper_bound(batch_start_.begin(), batch_start_.end(), next_pos_) - batch_start_.begin() - 1;
      return b < consumed_ + options_.prefetch_batches;
    });
    if (stopping_) return;
    const int64_t pos = next_pos_++;
    const int64_t b = std::upper_bound(batch_start_.begin(), batch_start_.end(), pos) - batch_start_.begin() - 1;
    const int64_t slot = pos - batch_start_[size_t(b)];
    const int64_t index = plan_[size_t(b)][size_t(slot)];
    const uint64_t gen = generation_;
    const int64_t epoch = epoch_;
    auto& entry = pending_[b];
    if (entry.indices.empty()) {
      entry.images.resize(plan_[size_t(b)].size());
      entry.indices.resize(plan_[size_t(b)].size());
      entry.remaining = int64_t(plan_[size_t(b)].size());
    }
    lock.unlock();
    std::pair<torch::Tensor, int64_t> result;
    int64_t corrupt = 0;
    std::exception_ptr failure;
    try {
      result = produce(gen, epoch, pos, index, corrupt);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    if (gen != generation_) continue;  // the epoch was restarted meanwhile
    if (failure) {
      if (!error_) error_ = failure;
      ready_cv_.notify_all();
      continue;
    }
    auto& p = pending_[b];
    p.images[size_t(slot)] = std::move(result.first);
    p.indices[size_t(slot)] = result.second;
    p.corrupt += corrupt;
    corrupt_epoch_ += corrupt;
    if (--p.remaining > 0) continue;
    Pending full;
    full.images = std::move(p.images);
    full.indices = std::move(p.indices);
    full.corrupt = p.corrupt;
    lock.unlock();
    std::optional<Batch> batch;
    try {
      batch = assemble(full);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    if (gen != generation_) continue;
    if (failure) {
      if (!error_) error_ = failure;
    } else {
      pending_[b].ready = std::move(batch);
    }
    ready_cv_.notify_all();
  }
}

std::optional<Batch> Loader::next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (consumed_ >= int64_t(plan_.size())) return std::nullopt;
  if (threads_.empty()) {
    // No workers: prepare the batch here, with the same per-sample keys.
    const int64_t b = consumed_;
    const uint64_t gen = generation_;
    const int64_t epoch = epoch_;
    const auto indices = plan_[size_t(b)];
    lock.unlock();
    Pending p;
    for (size_t s = 0; s < indices.size(); ++s) {
      int64_t corrupt = 0;
      auto [img, idx] = produce(gen, epoch, batch_start_[size_t(b)] + int64_t(s), indices[s], corrupt);
      p.images.push_back(std::move(img));
      p.indices.push_back(idx);
      p.corrupt += corrupt;
    }
    Batch batch = assemble(p);
    lock.lock();
    corrupt_epoch_ += p.corrupt;
    ++consumed_;
    return batch;
  }
  ready_cv_.wait(lock, [&] {
    if (error_) return true;
    const auto it = pending_.find(consumed_);
    return it != pending_.end() && it->second.ready.has_value();
  });
  if (error_) std::rethrow_exception(error_);
  auto it = pending_.find(consumed_);
  Batch batch = std::move(*it->second.ready);
  pending_.erase(it);
  ++consumed_;
  lock.unlock();
  work_cv_.notify_all();
  return batch;
}

std::vector<std::vector<int64_t>> make_batches(const std::vector<int64_t>& order, int64_t batch_size,
                                               bool drop_last) {
  TORCH_CHECK(batch_size >= 1, "make_batches: expected a positive batch size, got ", batch_size);
  std::vector<std::vector<int64_t>> out;
  for (size_t i = 0; i < order.size(); i += size_t(batch_size)) {
    const size_t end = std::min(order.size(), i + size_t(batch_size));
    if (drop_last && end - i < size_t(batch_size)) break;
    out.emplace_back(order.begin() + int64_t(i), order.begin() + int64_t(end));
  }
  return out;
}

std::vector<int64_t> sequential_order(int64_t n) {
  std::vector<int64_t> order(size_t(std::max<int64_t>(0, n)));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  return order;
}

}  // namespace edge::data
