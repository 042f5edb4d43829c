// Sorting OOD scores for the metric sweep (ood_metrics.cpp), in O(n).
#pragma once

#include <vector>

#include "edge/metrics/ood_metrics.h"

namespace edge::metrics {

// Copies `scores`, validates them and returns them sorted in descending order, with -0.0
// written as +0.0 (they compare equal). Equal to std::sort(..., std::greater<double>())
// element by element (compared with ==). From 4096 scores on it is an LSD radix sort of
// order-preserving 64-bit keys (11-bit digits, all histograms from one read, digits on
// which every key agrees skipped; scores that came from float32 thus take 3 passes, not 6),
// below that std::sort. Throws std::invalid_argument naming `what` ("ID"/"OOD") for an
// empty set or a NaN / infinite score (the first one by index).
std::vector<double> sort_scores_descending(ScoreView scores, const char* what);

}  // namespace edge::metrics
