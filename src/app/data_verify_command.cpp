// `edge data verify`: decode every image of a benchmark and check its labels.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <numeric>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/app/commands.h"
#include "edge/common/error.h"
#include "edge/data/registry.h"

namespace edge::app {

namespace {

// Decodes every image of `d` on `threads` threads; returns the failures in index order.
std::vector<std::string> decode_all(const data::Dataset& d, int64_t threads) {
  const int64_t n = d.size();
  std::vector<std::string> failure(static_cast<size_t>(n));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next++; i < n; i = next++) {
      try {
        const torch::Tensor img = d.images->load(i);
        if (img.dim() != 3 || img.numel() == 0)
          failure[static_cast<size_t>(i)] = fmt::format("{}: decoded to an empty image", d.images->describe(i));
      } catch (const std::exception& e) {
        // Reader messages already name the file; add it where one does not.
        const std::string what = e.what(), where = d.images->describe(i);
        failure[static_cast<size_t>(i)] = what.find(where) != std::string::npos ? what : where + ": " + what;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < std::min<int64_t>(threads, n); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  std::vector<std::string> out;
  for (auto& f : failure)
    if (!f.empty()) out.push_back(std::move(f));
  return out;
}

void report_set(const std::string& role, const data::Dataset& d, int64_t threads, std::ostream& out,
                std::vector<std::string>& problems) {
  if (!d.images) return;
  out << fmt::format("{} {}: {} images", role, d.name, d.size());
  if (d.has_labels()) {
    const int64_t C = static_cast<int64_t>(d.class_names.size());
    if (d.labels.dim() != 2 || d.labels.size(0) != d.size() || d.labels.size(1) != C) {
      out << "\n";
      problems.push_back(fmt::format("{}: labels are [{}], expected [{}, {}] (images x classes)", d.name,
                                     fmt::join(d.labels.sizes().vec(), ", "), d.size(), C));
    } else {
      const torch::Tensor per_class = d.labels.sum(0).to(torch::kInt64).contiguous();
      const int64_t unlabelled = (d.labels.sum(1) == 0).sum().item<int64_t>();
      out << fmt::format(", {} classes, {} images without any class\n", C, unlabelled);
      std::vector<int64_t> order(static_cast<size_t>(C));
      std::iota(order.begin(), order.end(), 0);
      const auto* counts = per_class.data_ptr<int64_t>();
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return counts[a] > counts[b]; });
      size_t width = 5;
      for (const auto& name : d.class_names) width = std::max(width, name.size());
      out << fmt::format("  {:>4}  {:<{}}  {:>8}  {:>7}\n", "rank", "class", width, "images", "share");
      for (size_t r = 0; r < order.size(); ++r) {
        const int64_t c = order[r];
        out << fmt::format("  {:>4}  {:<{}}  {:>8}  {:>6.2f}%\n", r + 1, d.class_names[static_cast<size_t>(c)], width,
                           counts[c], d.size() > 0 ? 100.0 * double(counts[c]) / double(d.size()) : 0.0);
      }
    }
  } else {
    out << " (unlabelled)\n";
  }
  auto bad = decode_all(d, threads);
  problems.insert(problems.end(), std::make_move_iterator(bad.begin()), std::make_move_iterator(bad.end()));
}

}  // namespace

int64_t run_data_verify(const DataVerifyParams& params, std::ostream& out) {
  if (params.dataset.empty()) throw UsageError("data verify: --dataset is required");
  if (params.threads < 1) throw UsageError(fmt::format("--threads: expected >= 1, got {}", params.threads));
  data::BenchmarkSpec spec;
  spec.dataset = params.dataset;
  spec.data_root = params.data_root;
  spec.oe_data = params.oe_data;
  spec.ood_data = params.ood_data;
  std::vector<std::string> problems;
  const data::DatasetBenchmark b = data::open_benchmark(spec, &problems);
  report_set("ID train", b.id_train, params.threads, out, problems);
  report_set("ID val", b.id_val, params.threads, out, problems);
  report_set("ID test", b.id_test, params.threads, out, problems);
  report_set("OE train", b.oe_train, params.threads, out, problems);
  for (const auto& d : b.ood_tests) report_set("OOD test", d, params.threads, out, problems);
  for (const auto& p : problems) out << "problem: " << p << "\n";
  out << (problems.empty() ? std::string("data verify: no problems\n")
                           : fmt::format("data verify: {} problems\n", problems.size()));
  return static_cast<int64_t>(problems.size());
}

}  // namespace edge::app
