// Per-sample random streams for the input pipeline. Every random draw made while
// augmenting one sample comes from SampleRng(seed, stream, epoch, slot), a generator owned by
// that sample alone, so the augmentation of a sample never depends on the number of worker
// threads or on the order in which they finish.
#pragma once

#include <cstdint>
#include <vector>

namespace edge::data {

class SampleRng {
 public:
  // `stream` separates independent consumers (e.g. ID and OE images) that share a seed;
  // `slot` is the sample's position in the epoch's sequence.
  SampleRng(uint64_t seed, uint64_t stream, uint64_t epoch, uint64_t slot);

  uint64_t next_u64();
  // Uniform in [lo, hi) with 53 random bits.
  double uniform(double lo, double hi);
  // Uniform integer in [lo, hi) (hi exclusive, like torch.randint); unbiased.
  int64_t randint(int64_t lo, int64_t hi);
  // True with probability p.
  bool bernoulli(double p);

 private:
  uint64_t s_[4];  // xoshiro256** state
};

// Fisher-Yates shuffle of 0..n-1 driven by SampleRng(seed, stream, epoch, 0): the same
// order on every platform (std::shuffle's algorithm is implementation-defined).
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, uint64_t stream, uint64_t epoch);

}  // namespace edge::data
