#include "edge/common/parallel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace edge {

int parallel_for_threads_used() {
  const int threads = at::get_num_threads();
  // One item per thread with grain 1: each OpenMP thread gets a chunk, so every thread index
  // appears when the loop is split at all.
  std::vector<int> seen(threads, 0);
  at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) seen[i] = at::get_thread_num() + 1;
  });
  std::sort(seen.begin(), seen.end());
  return int(std::unique(seen.begin(), seen.end()) - seen.begin());
}

}  // namespace edge
