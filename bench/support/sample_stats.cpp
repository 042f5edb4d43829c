#include "support/sample_stats.h"

#include <algorithm>

namespace edge::bench {

SampleStats sample_stats(std::vector<double> v) {
  SampleStats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  s.lo = v.front();
  s.hi = v.back();
  return s;
}

}  // namespace edge::bench
