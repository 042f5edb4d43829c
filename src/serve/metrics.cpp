#include "edge/serve/metrics.h"

#include <algorithm>

#include <fmt/format.h>

namespace edge::serve {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  const size_t b = size_t(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  ++counts_[b];
  sum_ += v;
  ++count_;
}

std::string Histogram::render(const std::string& name) const {
  std::string s;
  int64_t cumulative = 0;
  for (size_t b = 0; b < bounds_.size(); ++b) {
    cumulative += counts_[b];
    s += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[b], cumulative);
  }
  s += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
  return s;
}

Metrics::Metrics()
    : batch_sizes_({1, 2, 4, 8, 16, 32, 64, 128, 256}),
      latency_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}) {}

void Metrics::request(const std::string& path, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{path, status}];
}

void Metrics::error(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mu_);
  ++errors_[kind];
}

void Metrics::predict_latency(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  latency_.observe(seconds);
}

void Metrics::batch(int64_t images) {
  std::lock_guard<std::mutex> lock(mu_);
  batch_sizes_.observe(double(images));
  images_ += images;
}

std::string Metrics::prometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string s = "# HELP edge_http_requests_total HTTP requests answered, by path and status.\n"
                  "# TYPE edge_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    s += fmt::format("edge_http_requests_total{{path=\"{}\",code=\"{}\"}} {}\n", key.first, key.second, n);
  s += "# HELP edge_errors_total Refused or failed requests, by kind.\n# TYPE edge_errors_total counter\n";
  for (const auto& [kind, n] : errors_) s += fmt::format("edge_errors_total{{kind=\"{}\"}} {}\n", kind, n);
  s += fmt::format("# HELP edge_images_total Images through the model.\n# TYPE edge_images_total counter\n"
                   "edge_images_total {}\n", images_);
  s += "# HELP edge_batch_size Images per forward pass.\n# TYPE edge_batch_size histogram\n";
  s += batch_sizes_.render("edge_batch_size");
  s += "# HELP edge_predict_latency_seconds POST /v1/predict, from reading the body to the answer.\n"
       "# TYPE edge_predict_latency_seconds histogram\n";
  s += latency_.render("edge_predict_latency_seconds");
  return s;
}

int64_t Metrics::requests(const std::string& path, int status) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = requests_.find({path, status});
  return it == requests_.end() ? 0 : it->second;
}

int64_t Metrics::errors(const std::string& kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = errors_.find(kind);
  return it == errors_.end() ? 0 : it->second;
}

int64_t Metrics::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batch_sizes_.count();
}

int64_t Metrics::images() const {
  std::lock_guard<std::mutex> lock(mu_);
  return images_;
}

}  // namespace edge::serve
