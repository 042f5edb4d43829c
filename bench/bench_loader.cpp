// Input-pipeline throughput, this loader (edge/data/loader.h) vs torchvision's DataLoader, in
// one run, on the same JPEG files with the same transforms: RandomHorizontalFlip ->
// RandomResizedCrop(size, scale=(0.5, 2.0)) -> ToTensor -> Normalize(ImageNet), shuffled,
// `--workers` worker threads (C++) / processes (Python, bench/loader_peer.py). Each epoch
// is timed from the first request to the last batch; the figure is images / s of the best
// of the epochs after the first (the first pays for cold page cache and worker start-up).
// Without --images, COCO-like JPEGs (640 px long side) are cut from the mate-backgrounds
// photographs into a temporary folder.
//
//   build/bench/bench_loader [--images DIR] [--count 300] [--workers 2] [--batch 32]
//                            [--size 224] [--epochs 3] [--python /usr/bin/python3 | --no-python]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/data/loader.h"
#include "edge/data/sample_rng.h"
#include "support/peer_process.h"

namespace {

using edge::bench::cpu_name;
using edge::bench::run_command;
using edge::bench::shell_quote;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  fs::path images;
  int64_t count = 300, workers = 2, batch = 32, size = 224, epochs = 3;
  std::string python = "/usr/bin/python3";
  std::string peer;  // default: loader_peer.py next to this source file
};

// EDGE_BENCH_DIR: this source's folder (set by bench/CMakeLists.txt; __FILE__ can be relative).
std::string default_peer() { return (fs::path(EDGE_BENCH_DIR) / "loader_peer.py").string(); }

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.peer = default_peer();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
      return argv[++i];
    };
    if (a == "--images") o.images = value();
    else if (a == "--count") o.count = std::stoll(value());
    else if (a == "--workers") o.workers = std::stoll(value());
    else if (a == "--batch") o.batch = std::stoll(value());
    else if (a == "--size") o.size = std::stoll(value());
    else if (a == "--epochs") o.epochs = std::stoll(value());
    else if (a == "--python") o.python = value();
    else if (a == "--no-python") o.python.clear();
    else {
      std::cerr << "usage: bench_loader [--images DIR] [--count N] [--workers W] [--batch B] [--size S] "
                   "[--epochs E] [--python PY | --no-python]\n";
      return 2;
    }
  }
  fs::path tmp;
  if (o.images.empty()) {
    tmp = fs::temp_directory_path() / fmt::format("edge-bench-loader-{}", ::getpid());
    if (o.python.empty()) throw std::runtime_error("--no-python needs --images");
    run_command(fmt::format("{} {} make {} {}", o.python, shell_quote(o.peer), shell_quote(tmp.string()), o.count));
    o.images = tmp;
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(o.images))
    if (e.path().extension() == ".jpg" || e.path().extension() == ".jpeg") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no JPEGs in " + o.images.string());
  torch::set_num_threads(1);  // the workers do the work; the consumer only waits

  edge::data::Dataset d;
  d.name = "bench";
  d.images = edge::data::file_source(files);
  edge::data::Transform t = edge::data::reference_train_transform(o.size);
  edge::data::LoaderOptions lo;
  lo.workers = o.workers;
  lo.prefetch_batches = 2 * std::max<int64_t>(1, o.workers);  // torchvision's default prefetch_factor 2
  edge::data::Loader loader(d, t, lo, &std::cerr);
  std::vector<double> cpp_rates;
  for (int64_t e = 0; e < o.epochs; ++e) {
    const auto t0 = Clock::now();
    loader.start(e, edge::data::make_batches(edge::data::shuffled_indices(int64_t(files.size()), 0, 0, uint64_t(e)),
                                             o.batch, false));
    int64_t n = 0;
    while (auto b = loader.next()) n += b->images.size(0);
    cpp_rates.push_back(double(n) / std::chrono::duration<double>(Clock::now() - t0).count());
  }
  auto best_after_first = [](const std::vector<double>& r) {
    return r.size() > 1 ? *std::max_element(r.begin() + 1, r.end()) : r.front();
  };
  const double cpp = best_after_first(cpp_rates);
  fmt::print("{} JPEGs from {}, {} workers, batch {}, {}x{} output, {} epochs\n", files.size(), o.images.string(),
             o.workers, o.batch, o.size, o.size, o.epochs);
  fmt::print("C++ loader     {:8.1f} images/s   (epochs: {:.1f})\n", cpp, fmt::join(cpp_rates, ", "));
  std::fflush(stdout);
  if (!o.python.empty()) {
    nlohmann::json spec{{"size", o.size}, {"batch", o.batch}, {"workers", o.workers}, {"epochs", o.epochs}};
    spec["files"] = nlohmann::json::array();
    for (const auto& f : files) spec["files"].push_back(f.string());
    const fs::path spec_file = fs::temp_directory_path() / fmt::format("edge-bench-loader-{}.json", ::getpid());
    std::ofstream(spec_file) << spec.dump();
    const std::string out = run_command(fmt::format("{} {} time {}", o.python, shell_quote(o.peer), shell_quote(spec_file.string())));
    fs::remove(spec_file);
    const auto pos = out.rfind("RESULT ");
    if (pos == std::string::npos) throw std::runtime_error("peer printed no RESULT:\n" + out);
    const auto rates = nlohmann::json::parse(out.substr(pos + 7))["images_per_s"].get<std::vector<double>>();
    const double py = best_after_first(rates);
    fmt::print("torchvision    {:8.1f} images/s   (epochs: {:.1f})\n", py, fmt::join(rates, ", "));
    fmt::print("ratio C++ / torchvision: {:.2f}x\n", cpp / py);
  }
  if (!tmp.empty()) fs::remove_all(tmp);
  return 0;
}
