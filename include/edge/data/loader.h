// The multi-threaded input pipeline: worker threads (std::thread) decode and augment the
// samples of a batch plan, at most `prefetch_batches` batches ahead of the consumer, and
// the consumer receives the batches in plan order as float [B, C, H, W] (+ labels), in
// page-locked memory when CUDA is available.
//
// Determinism: sample s of the epoch's plan (s counts positions over the whole plan) is
// augmented with SampleRng(seed, stream, epoch, s) alone, so the batches are identical for
// any number of workers (including 0: decoding in the consumer's thread).
//
// Corrupt images (ImageSource::load throws DataError): one warning line naming the file,
// the first time that file fails; every affected slot is counted (corrupt_this_epoch()
// and Batch::corrupt). Policy Replace (training) fills the slot with the next image of the
// dataset (index + 1, wrapping, skipping known-corrupt ones) -- its labels come along, its
// augmentation stays the slot's own -- so batch sizes never change; Drop (evaluation)
// leaves the slot out of the batch (Batch::indices says which images the rows are);
// Throw rethrows the DataError.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <iosfwd>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"

namespace edge::data {

enum class CorruptPolicy { Replace, Drop, Throw };

struct LoaderOptions {
  int64_t workers = 2;           // decode/augment threads; 0 = in the consumer's thread
  int64_t prefetch_batches = 2;  // batches being prepared or ready ahead of the consumer
  uint64_t seed = 0;
  uint64_t stream = 0;           // separates the augmentation streams of sets sharing a seed
  CorruptPolicy on_corrupt = CorruptPolicy::Replace;
  bool pin_memory = true;        // page-locked batches (only when CUDA is available)
};

struct Batch {
  torch::Tensor images;          // float [B, C, H, W]
  torch::Tensor labels;          // float [B, num_classes]; undefined for unlabelled sets
  std::vector<int64_t> indices;  // the dataset index each row was read from
  int64_t corrupt = 0;           // slots of this batch whose image was corrupt
};

class Loader {
 public:
  // `warnings` receives the corrupt-image lines (nullptr: none).
  Loader(Dataset dataset, Transform transform, LoaderOptions options, std::ostream* warnings);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts an epoch: `plan` lists the dataset indices of each batch in delivery order. A
  // previous epoch's undelivered batches are abandoned.
  void start(int64_t epoch, std::vector<std::vector<int64_t>> plan);
  // The next batch of the plan, or nullopt after the last. Rethrows a worker's exception.
  std::optional<Batch> next();
  // Slots whose image was found corrupt since start().
  int64_t corrupt_this_epoch() const;
  const Dataset& dataset() const { return dataset_; }
  const LoaderOptions& options() const { return options_; }

 private:
  struct Pending {
    std::vector<torch::Tensor> images;  // uint8 after the geometric steps; undefined = dropped
    std::vector<int64_t> indices;
    int64_t remaining = 0, corrupt = 0;
    std::optional<Batch> ready;
  };
  void worker_loop();
  // Decodes and augments plan position `pos`; returns the slot's image (undefined if
  // dropped) and the index used, counting corrupt images. Called without the lock.
  std::pair<torch::Tensor, int64_t> produce(uint64_t generation, int64_t epoch, int64_t pos, int64_t index,
                                            int64_t& corrupt);
  Batch assemble(Pending& p) const;
  bool known_corrupt(int64_t index);
  void note_corrupt(int64_t index, const std::string& what);

  Dataset dataset_;
  Transform transform_;
  LoaderOptions options_;
  std::ostream* warnings_;
  bool pin_ = false;

  mutable std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
  uint64_t generation_ = 0;
  int64_t epoch_ = 0;
  std::vector<std::vector<int64_t>> plan_;
  std::vector<int64_t> batch_start_;  // plan position of each batch's first sample
  int64_t next_pos_ = 0, total_ = 0;  // next plan position to hand to a worker
  int64_t consumed_ = 0;              // batches delivered
  std::map<int64_t, Pending> pending_;
  std::exception_ptr error_;
  int64_t corrupt_epoch_ = 0;
  std::set<int64_t> corrupt_;          // indices known to be corrupt (warned once)
};

// Batches of `batch_size` over `order` (the last one partial unless drop_last).
std::vector<std::vector<int64_t>> make_batches(const std::vector<int64_t>& order, int64_t batch_size,
                                               bool drop_last);
// 0..n-1 in order.
std::vector<int64_t> sequential_order(int64_t n);

}  // namespace edge::data
