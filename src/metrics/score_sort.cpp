#include "edge/metrics/score_sort.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace edge::metrics {
namespace {

void throw_empty(const char* what) {
  throw std::invalid_argument(std::string("edge::metrics: the ") + what +
                              " score set is empty; OOD metrics need at least one ID and "
                              "one OOD score");
}

void throw_not_finite(const char* what, std::size_t k) {
  throw std::invalid_argument(std::string("edge::metrics: ") + what + " score #" +
                              std::to_string(k) + " is not finite (NaN or infinity)");
}

// Below this size std::sort is as fast as the radix sort's fixed histogram cost.
constexpr std::size_t kRadixMin = 1 << 12;
// 12-bit digits: a bucket whose keys share their top 16 bits takes 4 passes, the counts fit L1.
constexpr int kDigitBits = 12;
constexpr int kDigits = (64 + kDigitBits - 1) / kDigitBits;  // 6
constexpr std::size_t kDigitBuckets = std::size_t(1) << kDigitBits;
// The first pass distributes by the top 16 key bits (sign, exponent, 4 mantissa bits).
constexpr int kBinBits = 16;
constexpr std::size_t kBins = std::size_t(1) << kBinBits;
// Keys per bucket that the second stage sorts within the core's cache (2 x 256 KiB).
constexpr std::size_t kBucketKeys = std::size_t(1) << 15;

// LSD radix sort of keys[0, n) (tmp: n more) on the digits where they differ;
// returns the buffer that holds the sorted keys.
std::uint64_t* radix_sort_keys(std::uint64_t* keys, std::uint64_t* tmp, std::size_t n) {
  std::uint64_t all_or = 0, all_and = ~std::uint64_t(0);
  for (std::size_t k = 0; k < n; ++k) {
    all_or |= keys[k];
    all_and &= keys[k];
  }
  const std::uint64_t varying = all_or ^ all_and;
  std::size_t next[kDigitBuckets];
  for (int d = 0; d < kDigits; ++d) {
    const int shift = d * kDigitBits;
    if (((varying >> shift) & (kDigitBuckets - 1)) == 0) continue;  // every key agrees on this digit
    std::fill(next, next + kDigitBuckets, 0);
    for (std::size_t k = 0; k < n; ++k) ++next[(keys[k] >> shift) & (kDigitBuckets - 1)];
    std::size_t sum = 0;
    for (std::size_t c = 0; c < kDigitBuckets; ++c) sum += std::exchange(next[c], sum);
    for (std::size_t k = 0; k < n; ++k) tmp[next[(keys[k] >> shift) & (kDigitBuckets - 1)]++] = keys[k];
    std::swap(keys, tmp);
  }
  return keys;
}

// Sorts `keys` ascending: a distribution by the top 16 bits into buckets of consecutive
// bins holding about kBucketKeys keys each (a fuller bin is a bucket of its own), then each
// bucket radix-sorted where it fits in cache. Two passes over memory where a plain LSD radix
// sort makes six (full doubles differ in every digit).
void sort_keys(std::vector<std::uint64_t>& keys) {
  const std::size_t n = keys.size();
  std::vector<std::size_t> bin_size(kBins, 0);
  for (const std::uint64_t key : keys) ++bin_size[key >> (64 - kBinBits)];
  // Buckets: consecutive bins, closed before the one that would take them past the cap (at
  // most 2n / cap + 1 of them, so the distribution writes to few places at once).
  const std::size_t cap = std::max(kBucketKeys, n / 256);
  std::vector<std::uint32_t> bucket_of_bin(kBins);
  std::vector<std::size_t> begin{0};
  std::size_t filled = 0;
  for (std::size_t bin = 0; bin < kBins; ++bin) {
    if (filled > 0 && filled + bin_size[bin] > cap) {
      begin.push_back(begin.back() + filled);
      filled = 0;
    }
    bucket_of_bin[bin] = static_cast<std::uint32_t>(begin.size() - 1);
    filled += bin_size[bin];
  }
  begin.push_back(n);
  std::vector<std::uint64_t> spread(n);
  std::vector<std::size_t> next(begin.begin(), begin.end() - 1);
  for (const std::uint64_t key : keys) spread[next[bucket_of_bin[key >> (64 - kBinBits)]]++] = key;
  for (std::size_t b = 0; b + 1 < begin.size(); ++b) {
    const std::size_t lo = begin[b], size = begin[b + 1] - lo;
    if (size < 64) {
      std::sort(&spread[lo], &spread[lo] + size);
      std::copy(&spread[lo], &spread[lo] + size, &keys[lo]);
    } else if (radix_sort_keys(&spread[lo], &keys[lo], size) != &keys[lo]) {
      std::copy(&spread[lo], &spread[lo] + size, &keys[lo]);
    }
  }
}

}  // namespace

std::vector<std::uint64_t> sort_score_keys(ScoreView v, const char* what) {
  if (v.size == 0 || v.data == nullptr) throw_empty(what);
  const std::size_t n = v.size;
  std::vector<std::uint64_t> keys(n);
  for (std::size_t k = 0; k < n; ++k) {
    const double x = v.data[k];
    if (!std::isfinite(x)) throw_not_finite(what, k);
    keys[k] = descending_key(x);
  }
  if (n < kRadixMin)
    std::sort(keys.begin(), keys.end());
  else
    sort_keys(keys);
  return keys;
}

std::vector<double> sort_scores_descending(ScoreView v, const char* what) {
  const std::vector<std::uint64_t> keys = sort_score_keys(v, what);
  std::vector<double> out(keys.size());
  for (std::size_t k = 0; k < keys.size(); ++k) out[k] = score_of_key(keys[k]);
  return out;
}

}  // namespace edge::metrics
