#include "edge/data/sample_rng.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <utility>

namespace edge::data {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

SampleRng::SampleRng(uint64_t seed, uint64_t stream, uint64_t epoch, uint64_t slot) {
  // Hash the key components one after another so that nearby keys give unrelated states.
  uint64_t h = seed;
  for (const uint64_t part : {stream, epoch, slot}) {
    uint64_t t = h ^ part;
    h = splitmix64(t) ^ rotl(part, 17);
  }
  for (auto& s : s_) s = splitmix64(h);
}

uint64_t SampleRng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double SampleRng::uniform(double lo, double hi) {
  const double u = double(next_u64() >> 11) * 0x1.0p-53;
  return lo + (hi - lo) * u;
}

int64_t SampleRng::randint(int64_t lo, int64_t hi) {
  if (hi <= lo) throw std::invalid_argument("SampleRng::randint: empty range");
  const uint64_t range = uint64_t(hi - lo);
  // Rejection sampling: drop the incomplete top block so every value is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t v;
  do v = next_u64(); while (v >= limit);
  return lo + int64_t(v % range);
}

bool SampleRng::bernoulli(double p) { return uniform(0.0, 1.0) < p; }

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, uint64_t stream, uint64_t epoch) {
  std::vector<int64_t> order(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  SampleRng rng(seed, stream, epoch, UINT64_MAX);  // a slot no sample uses
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng.randint(0, i + 1))]);
  return order;
}

}  // namespace edge::data
