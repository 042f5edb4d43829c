#include "edge/metrics/score_sort.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

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

// Order-preserving map of a finite double to an unsigned key, inverted so that ascending
// keys are descending scores. -0.0 is folded into +0.0 first (they compare equal, so they
// must share a key to stay in one run of ties).
inline std::uint64_t descending_key(double x) {
  if (x == 0.0) x = 0.0;
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  const std::uint64_t asc = (u >> 63) ? ~u : (u | (std::uint64_t(1) << 63));
  return ~asc;
}

inline double key_to_double(std::uint64_t key) {
  const std::uint64_t asc = ~key;
  const std::uint64_t u = (asc >> 63) ? (asc & ~(std::uint64_t(1) << 63)) : ~asc;
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// Inputs from this size on sort the ID and OOD sets on two threads.
constexpr std::size_t kParallelMin = 1 << 16;

// Below this size std::sort is as fast as the radix sort's fixed histogram cost.
constexpr std::size_t kRadixMin = 1 << 12;
constexpr int kDigitBits = 11;
constexpr int kDigits = (64 + kDigitBits - 1) / kDigitBits;  // 6
constexpr std::size_t kBuckets = std::size_t(1) << kDigitBits;

}  // namespace

std::vector<double> sort_scores_descending(ScoreView v, const char* what) {
  if (v.size == 0 || v.data == nullptr) throw_empty(what);
  const std::size_t n = v.size;
  if (n < kRadixMin) {
    std::vector<double> out(v.data, v.data + n);
    for (std::size_t k = 0; k < n; ++k) {
      if (!std::isfinite(out[k])) throw_not_finite(what, k);
      if (out[k] == 0.0) out[k] = 0.0;
    }
    std::sort(out.begin(), out.end(), std::greater<double>());
    return out;
  }
  std::vector<std::uint64_t> a(n), b(n);
  std::vector<std::size_t> hist(kDigits * kBuckets, 0);
  for (std::size_t k = 0; k < n; ++k) {
    const double x = v.data[k];
    if (!std::isfinite(x)) throw_not_finite(what, k);
    const std::uint64_t key = descending_key(x);
    a[k] = key;
    for (int d = 0; d < kDigits; ++d) ++hist[d * kBuckets + ((key >> (d * kDigitBits)) & (kBuckets - 1))];
  }
  std::vector<int> passes;
  for (int d = 0; d < kDigits; ++d) {
    const std::size_t* h = &hist[d * kBuckets];
    if (std::find(h, h + kBuckets, n) == h + kBuckets) passes.push_back(d);  // not all keys in one bucket
  }
  std::vector<double> out(n);
  std::vector<std::size_t> offset(kBuckets);
  for (std::size_t p = 0; p < passes.size(); ++p) {
    const int d = passes[p];
    const int shift = d * kDigitBits;
    std::size_t sum = 0;
    for (std::size_t c = 0; c < kBuckets; ++c) {
      offset[c] = sum;
      sum += hist[d * kBuckets + c];
    }
    if (p + 1 == passes.size()) {  // last pass: scatter the decoded scores straight into `out`
      for (std::size_t k = 0; k < n; ++k) out[offset[(a[k] >> shift) & (kBuckets - 1)]++] = key_to_double(a[k]);
      return out;
    }
    for (std::size_t k = 0; k < n; ++k) b[offset[(a[k] >> shift) & (kBuckets - 1)]++] = a[k];
    a.swap(b);
  }
  for (std::size_t k = 0; k < n; ++k) out[k] = key_to_double(a[k]);  // every key equal: nothing to sort
  return out;
}

}  // namespace edge::metrics
