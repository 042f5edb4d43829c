// Dynamic batching (serve/batcher.h): images from many threads share passes of at most
// max_batch, every result goes back to its own submitter, and stop() drains the queue.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "edge/serve/batcher.h"
#include "edge/serve/request.h"

namespace {

using namespace std::chrono_literals;
using edge::serve::Batcher;

TEST(Batcher, GathersConcurrentImagesIntoBatchesAndRoutesEachResultBack) {
  std::mutex mu;
  std::vector<int64_t> sizes;
  // The "model" doubles its input after a pause, so that images queue during a pass.
  Batcher b([](const torch::Tensor& x) { std::this_thread::sleep_for(5ms); return x * 2; }, 8, 20ms,
            [&](int64_t n) { std::lock_guard<std::mutex> lock(mu); sizes.push_back(n); });
  std::vector<std::thread> clients;
  std::atomic<int> wrong{0};
  for (int c = 0; c < 16; ++c)
    clients.emplace_back([&, c] {
      for (int i = 0; i < 5; ++i) {
        const float v = float(c * 100 + i);
        const torch::Tensor out = b.submit(torch::full({2, 3}, v)).get();
        if (!torch::equal(out, torch::full({2, 3}, 2 * v))) ++wrong;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong, 0);
  int64_t total = 0, largest = 0;
  for (int64_t n : sizes) total += n, largest = std::max(largest, n);
  EXPECT_EQ(total, 80);
  EXPECT_LE(largest, 8);
  EXPECT_GT(largest, 1) << "16 concurrent clients never shared a pass";
}

TEST(Batcher, WaitsAtMostMaxWaitForAnImageOnItsWayAndNotAtAllOtherwise) {
  Batcher b([](const torch::Tensor& x) { return x; }, 32, 30ms);
  {
    Batcher::Arrival coming(b);  // another request is being read: worth waiting for
    const auto t0 = std::chrono::steady_clock::now();
    b.submit(torch::ones({1})).get();
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, 25ms);
    EXPECT_LT(waited, 1000ms);
  }
  Batcher lone([](const torch::Tensor& x) { return x; }, 32, 2000ms);
  const auto t0 = std::chrono::steady_clock::now();
  lone.submit(torch::ones({1})).get();  // nothing else coming: runs at once, not after 2 s
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
}

TEST(Batcher, ALoneImageWithItsArrivalRunsInTheCallersThread) {
  std::thread::id ran_on;
  Batcher b([&](const torch::Tensor& x) { ran_on = std::this_thread::get_id(); return x * 3; }, 8, 10ms);
  {
    Batcher::Arrival mine(b);
    auto f = b.submit(torch::ones({2}), &mine);
    EXPECT_EQ(f.wait_for(0ms), std::future_status::ready);  // already run, here
    EXPECT_EQ(f.get()[0].item<float>(), 3.0f);
    EXPECT_EQ(ran_on, std::this_thread::get_id());
  }
  {
    Batcher::Arrival mine(b), other(b);  // another image on its way: queue and wait for it
    auto f = b.submit(torch::ones({2}), &mine);
    other.release();
    EXPECT_EQ(f.get()[0].item<float>(), 3.0f);
    EXPECT_NE(ran_on, std::this_thread::get_id());
  }
}

TEST(Batcher, KeepsShapesApartAndPassesErrorsToTheirSubmitters) {
  Batcher b(
      [](const torch::Tensor& x) {
        TORCH_CHECK(x.size(1) != 3, "no threes");
        return x.sum(1);
      },
      8, 10ms);
  auto two = b.submit(torch::ones({2}));
  auto three = b.submit(torch::ones({3}));
  EXPECT_EQ(two.get().item<float>(), 2.0f);
  EXPECT_THROW(three.get(), c10::Error);
}

TEST(Batcher, StopRunsWhatIsQueuedThenRefusesNewWork) {
  Batcher b([](const torch::Tensor& x) { return x + 1; }, 4, 500ms);
  std::vector<std::future<torch::Tensor>> f;
  for (int i = 0; i < 6; ++i) f.push_back(b.submit(torch::full({1}, float(i))));
  b.stop();  // does not wait the 500 ms for fuller batches
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f[size_t(i)].get().item<float>(), float(i + 1));
  try {
    b.submit(torch::ones({1}));
    FAIL() << "accepted work after stop()";
  } catch (const edge::serve::RequestError& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.kind(), "shutting_down");
  }
}

}  // namespace
