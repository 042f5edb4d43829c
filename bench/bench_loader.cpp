// Input-pipeline throughput, this loader (edge/data/loader.h) vs torchvision's DataLoader, in
// one run, on the same JPEG files with the same transforms: RandomHorizontalFlip ->
// RandomResizedCrop(size, scale=(0.5, 2.0)) -> ToTensor -> Normalize(ImageNet), shuffled,
// `--workers` worker threads (C++) / processes (Python, bench/loader_peer.py), prefetching
// two batches per worker on both sides (torchvision's default prefetch_factor).
//
// For every (workers, size) of the sweep the sides alternate round by round (C++ epochs, then
// a fresh peer process's epochs), so that a noisy neighbour on a shared VM hits both; a
// round's figure per side is the best of its epochs after the first (the first pays for cold
// caches and worker start-up), and the table shows the median over rounds [min-max] and the
// median of the per-round ratios. Without --images, COCO-sized JPEGs (640 px long side,
// quality 90) are cut from the mate-backgrounds photographs into a temporary folder.
//
//   build/bench/bench_loader [--images DIR] [--count 300] [--workers 1,2] [--size 224,256]
//                            [--batch 32] [--epochs 3] [--rounds 3]
//                            [--python /usr/bin/python3 | --no-python]
// Last line: loader_vs_torchvision=<smallest median ratio of the sweep> (absent with --no-python).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/data/loader.h"
#include "edge/data/sample_rng.h"
#include "support/peer_process.h"
#include "support/sample_stats.h"

namespace {

using edge::bench::run_command;
using edge::bench::sample_stats;
using edge::bench::SampleStats;
using edge::bench::shell_quote;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  fs::path images;
  int64_t count = 300, batch = 32, epochs = 3, rounds = 3;
  std::vector<int64_t> workers{1, 2}, sizes{224, 256};
  std::string python = "/usr/bin/python3";
  bool no_python = false;
  std::string peer;  // default: loader_peer.py next to this source file
};

// EDGE_BENCH_DIR: this source's folder (set by bench/CMakeLists.txt; __FILE__ can be relative).
std::string default_peer() { return (fs::path(EDGE_BENCH_DIR) / "loader_peer.py").string(); }

double best_after_first(const std::vector<double>& rates) {
  return rates.size() > 1 ? *std::max_element(rates.begin() + 1, rates.end()) : rates.front();
}

// One round of this loader: `epochs` shuffled epochs, images / s of each.
std::vector<double> time_cpp(const std::vector<fs::path>& files, const Options& o, int64_t workers, int64_t size,
                             int64_t round) {
  edge::data::Dataset d;
  d.name = "bench";
  d.images = edge::data::file_source(files);
  const edge::data::Transform t = edge::data::reference_train_transform(size);
  edge::data::LoaderOptions lo;
  lo.workers = workers;
  lo.prefetch_batches = 2 * std::max<int64_t>(1, workers);
  edge::data::Loader loader(d, t, lo, &std::cerr);
  std::vector<double> rates;
  for (int64_t e = 0; e < o.epochs; ++e) {
    const auto t0 = Clock::now();
    const uint64_t epoch = uint64_t(round * o.epochs + e);
    loader.start(e, edge::data::make_batches(edge::data::shuffled_indices(int64_t(files.size()), 0, 0, epoch),
                                             o.batch, false));
    int64_t n = 0;
    while (auto b = loader.next()) n += b->images.size(0);
    rates.push_back(double(n) / std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return rates;
}

// One round of torchvision's DataLoader in a fresh Python process.
std::vector<double> time_peer(const std::vector<fs::path>& files, const Options& o, int64_t workers, int64_t size) {
  nlohmann::json spec{{"size", size}, {"batch", o.batch}, {"workers", workers}, {"epochs", o.epochs}};
  spec["files"] = nlohmann::json::array();
  for (const auto& f : files) spec["files"].push_back(f.string());
  const fs::path spec_file = fs::temp_directory_path() / fmt::format("edge-bench-loader-{}.json", ::getpid());
  std::ofstream(spec_file) << spec.dump();
  const std::string out =
      run_command(fmt::format("{} {} time {}", o.python, shell_quote(o.peer), shell_quote(spec_file.string())));
  fs::remove(spec_file);
  const auto pos = out.rfind("RESULT ");
  if (pos == std::string::npos) throw std::runtime_error("peer printed no RESULT:\n" + out);
  return nlohmann::json::parse(out.substr(pos + 7))["images_per_s"].get<std::vector<double>>();
}

std::string cell(const SampleStats& s, const char* spec = "{:.1f}") {
  return fmt::format(fmt::runtime(std::string(spec) + " [" + spec + "-" + spec + "]"), s.median, s.lo, s.hi);
}

std::vector<fs::path> jpegs_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".jpg" || e.path().extension() == ".jpeg") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no JPEGs in " + dir.string());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.peer = default_peer();
  CLI::App app{"bench_loader: this loader vs torchvision's DataLoader on the same JPEGs"};
  app.add_option("--images", o.images, "folder of JPEGs (default: COCO-sized cuts of the mate-backgrounds photos)");
  app.add_option("--count", o.count, "how many JPEGs to cut without --images")->check(CLI::PositiveNumber);
  app.add_option("--workers", o.workers, "worker counts to sweep")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--size", o.sizes, "output sizes to sweep")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--batch", o.batch)->check(CLI::PositiveNumber);
  app.add_option("--epochs", o.epochs, "epochs per round and side")->check(CLI::PositiveNumber);
  app.add_option("--rounds", o.rounds, "alternating rounds per configuration")->check(CLI::PositiveNumber);
  app.add_option("--python", o.python, "the peer's interpreter (needs torch and torchvision)");
  app.add_flag("--no-python", o.no_python, "time this loader only (needs --images)");
  CLI11_PARSE(app, argc, argv);
  if (o.no_python && o.images.empty()) {
    std::cerr << "bench_loader: --no-python needs --images (the default JPEGs are cut by the Python peer)\n";
    return 2;
  }
  fs::path tmp;
  if (o.images.empty()) {
    tmp = fs::temp_directory_path() / fmt::format("edge-bench-loader-{}", ::getpid());
    run_command(fmt::format("{} {} make {} {}", o.python, shell_quote(o.peer), shell_quote(tmp.string()), o.count));
    o.images = tmp;
  }
  const std::vector<fs::path> files = jpegs_in(o.images);
  torch::set_num_threads(1);  // the workers do the work; the consumer only waits

  fmt::print("{} JPEGs from {}; batch {}; {} rounds x {} epochs per side and configuration; CPU: {}\n", files.size(),
             o.images.string(), o.batch, o.rounds, o.epochs, edge::bench::cpu_name());
  fmt::print("\n| workers | size | C++ img/s | torchvision img/s | ratio |\n|---:|---:|---:|---:|---:|\n");
  std::fflush(stdout);
  double worst_ratio = std::numeric_limits<double>::infinity();
  for (const int64_t workers : o.workers) {
    for (const int64_t size : o.sizes) {
      std::vector<double> cpp, py, ratio;
      for (int64_t r = 0; r < o.rounds; ++r) {
        cpp.push_back(best_after_first(time_cpp(files, o, workers, size, r)));
        if (o.no_python) continue;
        py.push_back(best_after_first(time_peer(files, o, workers, size)));
        ratio.push_back(cpp.back() / py.back());
      }
      const SampleStats ratio_stats = sample_stats(ratio);
      if (!o.no_python) worst_ratio = std::min(worst_ratio, ratio_stats.median);
      fmt::print("| {} | {} | {} | {} | {} |\n", workers, size, cell(sample_stats(cpp)),
                 o.no_python ? "-" : cell(sample_stats(py)), o.no_python ? "-" : cell(ratio_stats, "{:.2f}"));
      std::fflush(stdout);
    }
  }
  if (!o.no_python) fmt::print("\nloader_vs_torchvision={:.2f}\n", worst_ratio);
  if (!tmp.empty()) fs::remove_all(tmp);
  return 0;
}
