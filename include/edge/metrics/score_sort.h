// Sorting OOD scores for the metric sweep (ood_metrics.cpp), in O(n).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "edge/metrics/ood_metrics.h"

namespace edge::metrics {

// The order-preserving 64-bit key of a finite score, inverted: ascending keys are descending
// scores, equal keys equal scores (-0.0 and +0.0 share the key of +0.0).
inline std::uint64_t descending_key(double x) {
  if (x == 0.0) x = 0.0;
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  const std::uint64_t asc = (u >> 63) ? ~u : (u | (std::uint64_t(1) << 63));
  return ~asc;
}

// The score of a key (+0.0 for a zero).
inline double score_of_key(std::uint64_t key) {
  const std::uint64_t asc = ~key;
  const std::uint64_t u = (asc >> 63) ? (asc & ~(std::uint64_t(1) << 63)) : ~asc;
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// Validates `scores` and returns their keys in ascending order (the scores descending).
// From 4096 scores on a radix sort: one pass distributes the keys by their top 16 bits into
// buckets of about 32k keys (consecutive bins; a fuller bin is a bucket of its own), then each
// bucket is LSD radix-sorted within the core's cache on the 12-bit digits where its keys
// differ; below that std::sort. Throws std::invalid_argument naming `what` ("ID"/"OOD") for
// an empty set or a NaN / infinite score (the first one by index).
std::vector<std::uint64_t> sort_score_keys(ScoreView scores, const char* what);

// The scores of sort_score_keys, decoded: `scores` sorted in descending order with -0.0
// written as +0.0, equal to std::sort(..., std::greater<double>()) element by element
// (compared with ==).
std::vector<double> sort_scores_descending(ScoreView scores, const char* what);

}  // namespace edge::metrics
