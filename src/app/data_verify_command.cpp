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

namespace {

// The ID splits of `spec` one by one: a split whose files are absent (the readers say "not
// found": COCO's test2014/ or VOC's test list, which the usual downloads lack) is said so on
// `out` and skipped; with every split absent the first one's error is the command's.
data::Benchmark open_present_splits(const data::BenchmarkSpec& spec, std::ostream& out,
                                    std::vector<std::string>& problems) {
  data::Benchmark b;
  std::vector<std::string> absent;
  using Split = data::Dataset data::Benchmark::*;
  for (const auto& [split, member] : {std::pair<std::string, Split>{"train", &data::Benchmark::id_train},
                                      {"val", &data::Benchmark::id_val}, {"test", &data::Benchmark::id_test}}) {
    data::BenchmarkSpec one = spec;
    one.need_train = split == "train";
    one.need_val = split == "val";
    one.need_test = split == "test";
    one.need_oe = one.need_ood = false;
    try {
      data::Benchmark part = data::open_benchmark(one, &problems);
      b.name = part.name;
      if (b.class_names.empty()) b.class_names = part.class_names;
      b.*member = std::move(part.*member);
    } catch (const DataError& e) {
      if (std::string(e.what()).find("not found") == std::string::npos) throw;
      absent.push_back(e.what());
      out << fmt::format("ID {}: absent ({})\n", split, e.what());
    }
  }
  if (absent.size() == 3) throw DataError(absent.front());
  return b;
}

}  // namespace

int64_t run_data_verify(const DataVerifyParams& params, std::ostream& out) {
  if (params.dataset.empty()) throw UsageError("data verify: --dataset is required");
  if (params.threads < 1) throw UsageError(fmt::format("--threads: expected >= 1, got {}", params.threads));
  data::BenchmarkSpec spec;
  spec.dataset = params.dataset;
  spec.data_root = params.data_root;
  spec.oe_data = params.oe_data;
  spec.builtin = params.sizes;
  spec.allow_outside_paths = params.allow_outside_paths;
  // What a run on the set evaluates against unless told otherwise (the built-in benchmark's own sets).
  spec.ood_data = params.ood_data.empty() ? data::run_recipe(params.dataset, 224, false, params.sizes).default_ood : params.ood_data;
  std::vector<std::string> problems;
  const data::Benchmark id = open_present_splits(spec, out, problems);
  data::BenchmarkSpec unlabelled = spec;
  unlabelled.need_train = unlabelled.need_val = unlabelled.need_test = false;
  const data::Benchmark sets = data::open_benchmark(unlabelled, &problems);
  report_set("ID train", id.id_train, params.threads, out, problems);
  report_set("ID val", id.id_val, params.threads, out, problems);
  report_set("ID test", id.id_test, params.threads, out, problems);
  report_set("OE train", sets.oe_train, params.threads, out, problems);
  for (const auto& d : sets.ood_tests) report_set("OOD test", d, params.threads, out, problems);
  for (const auto& p : problems) out << "problem: " << p << "\n";
  out << (problems.empty() ? std::string("data verify: no problems\n")
                           : fmt::format("data verify: {} problems\n", problems.size()));
  return static_cast<int64_t>(problems.size());
}

}  // namespace edge::app
