// Dynamic batching: single images submitted from many connection threads are gathered into
// one forward pass, up to `max_batch` images or until the oldest has waited `max_wait`,
// whichever comes first, and each result row goes back to the future of its submitter.
// While a pass runs, new images queue; the next pass takes them at once, so under load the
// batches fill up and at low load no image waits longer than max_wait plus one pass.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include <torch/types.h>

namespace edge::serve {

class Batcher {
 public:
  // [B, ...] inputs -> [B, ...] outputs, called on the batcher's one thread.
  using Forward = std::function<torch::Tensor(const torch::Tensor& inputs)>;
  // Told each batch size (metrics), after its pass.
  using OnBatch = std::function<void(int64_t size)>;

  Batcher(Forward forward, int64_t max_batch, std::chrono::microseconds max_wait, OnBatch on_batch = {});
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // An image on its way (its request being read or decoded): while any is, a short batch
  // waits for it (at most max_wait); once none is, waiting could only add latency, so the
  // batch runs at once (a lone client pays no max_wait). Release by destroying or release().
  class Arrival {
   public:
    explicit Arrival(Batcher& b);
    ~Arrival() { release(); }
    Arrival(const Arrival&) = delete;
    Arrival& operator=(const Arrival&) = delete;
    void release();

   private:
    friend class Batcher;
    Batcher* b_;
  };

  // Queues one input (one image's tensor); the future yields its output row, or the pass's
  // exception. Inputs of different shapes never share a pass. Throws RequestError 503
  // (shutting_down) after stop(). With `own` (the caller's Arrival, still held): when the
  // model is idle, nothing is queued and no other image is on its way, the caller runs the
  // pass of this one image itself: at low load that saves the two thread hand-offs (on a
  // busy machine each costs a scheduling delay) and there is nothing to batch anyway.
  std::future<torch::Tensor> submit(torch::Tensor input, const Arrival* own = nullptr);
  // Takes no more work, runs what is queued, joins the thread. Idempotent.
  void stop();

 private:
  struct Item {
    torch::Tensor input;
    std::promise<torch::Tensor> result;
    std::chrono::steady_clock::time_point queued;
  };
  void loop();
  std::vector<Item> next_batch(std::unique_lock<std::mutex>& lock);
  void run(std::vector<Item>& batch);

  Forward forward_;
  int64_t max_batch_;
  std::chrono::microseconds max_wait_;
  OnBatch on_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  int64_t arriving_ = 0;  // live Arrivals
  bool busy_ = false;     // a pass is running (on the batcher's thread or a submitter's)
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace edge::serve
