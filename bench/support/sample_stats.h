// Summary of repeated timings: median and the min-max spread.
#pragma once

#include <cmath>
#include <vector>

namespace edge::bench {

struct SampleStats {
  double median = std::nan(""), lo = std::nan(""), hi = std::nan("");  // NaN when there are no samples
};

// Median (mean of the two middle values for an even count), minimum and maximum of `samples`.
SampleStats sample_stats(std::vector<double> samples);

}  // namespace edge::bench
