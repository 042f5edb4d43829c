// The service's counters in Prometheus' text exposition format (GET /metrics): requests by
// path and status, errors by kind, images, batch sizes and predict latency as histograms.
// Written by every connection thread, so each update takes one mutex (cheap next to a pass).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace edge::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  // The series `name`_bucket{le=...}, _sum and _count.
  std::string render(const std::string& name) const;
  int64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, not cumulative (rendering accumulates)
  double sum_ = 0;
  int64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request(const std::string& path, int status);
  void error(const std::string& kind);
  void predict_latency(double seconds);
  void batch(int64_t images);
  std::string prometheus() const;
  // For tests and the shutdown summary.
  int64_t requests(const std::string& path, int status) const;
  int64_t errors(const std::string& kind) const;
  int64_t batches() const;
  int64_t images() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::map<std::string, int64_t> errors_;
  Histogram batch_sizes_;
  Histogram latency_;
  int64_t images_ = 0;
};

}  // namespace edge::serve
