// Backbone throughput, C++ (LibTorch) vs Python (PyTorch), in one run.
//
// For every architecture and input size: forward images/s (eval mode, no grad) and
// forward+backward images/s (train mode, BCE-with-logits on the clssimp head's logits,
// gradients zeroed each step, no optimiser step), of the whole multi-label model
// (backbone + clssimp head, 8 classes, hidden 1000). The same models, batches, thread
// counts and timing rule run in Python (bench/backbones_peer.py, Debian's python3-torch)
// right after each architecture's C++ runs; the table shows both figures and their
// ratio. Each figure is the batch size over the median of `--iters` timed steps after
// `--warmup` untimed ones. On a shared or busy machine the figures drift by +-20%: run
// it on an idle one, and compare ratios rather than single figures.
//
//   build/bench/bench_backbones [--threads 2] [--archs a,b] [--sizes 224,56]
//                               [--batches 8,32] [--iters 5] [--warmup 1]
//                               [--python /usr/bin/python3 | --no-python]
//
// small_resnet takes 1-channel images (fashion-lt's), the torchvision backbones 3.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/model/backbone.h"
#include "edge/model/multilabel_net.h"
#include "support/cli_parse.h"
#include "support/peer_process.h"
#include "support/sample_stats.h"

namespace {

using edge::bench::cpu_name;
using edge::bench::run_command;
using edge::bench::shell_quote;

using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> archs = edge::model::architectures();
  std::vector<int64_t> sizes = {224, 56};
  std::vector<int64_t> batches = {8, 32};
  int threads = 2;
  int iters = 5;
  int warmup = 1;
  std::string python = "/usr/bin/python3";
  std::string peer = (std::filesystem::path(EDGE_BENCH_DIR) / "backbones_peer.py").string();
  int64_t hidden = 1000;
  int64_t num_classes = 8;
};

Options parse(int argc, char** argv) {
  Options o;
  CLI::App app{"bench_backbones: forward and forward+backward images/s of each backbone, LibTorch vs PyTorch"};
  app.add_option("--archs", o.archs, "architectures, comma-separated")->delimiter(',');
  app.add_option("--sizes", o.sizes, "input sizes, comma-separated (one per --batches entry)")->delimiter(',');
  app.add_option("--batches", o.batches, "batch sizes, comma-separated")->delimiter(',');
  app.add_option("--threads", o.threads, "intra-op threads of both sides");
  app.add_option("--iters", o.iters, "timed steps per figure");
  app.add_option("--warmup", o.warmup, "untimed steps before them");
  app.add_option("--python", o.python, "the peer's interpreter (needs torch, torchvision)");
  app.add_option("--peer", o.peer, "backbones_peer.py");
  app.add_flag_callback("--no-python", [&o] { o.python.clear(); }, "this project's figures only");
  edge::bench::parse_cli(app, argc, argv);
  if (o.sizes.size() != o.batches.size()) throw std::runtime_error("--sizes and --batches need the same length");
  if (o.threads < 1 || o.iters < 1 || o.warmup < 0) throw std::runtime_error("bad --threads / --iters / --warmup");
  return o;
}

template <typename F>
double median_seconds(const F& step, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) step();
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = Clock::now();
    step();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return edge::bench::sample_stats(std::move(t)).median;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_backbones: " << e.what() << "\n";
    return 2;
  }
  torch::set_num_interop_threads(1);
  torch::set_num_threads(o.threads);

  // Per architecture: C++ first, then the Python peer on the same configurations, so that
  // both figures of a row are measured within a minute of each other.
  std::map<std::string, double> cpp, py;
  std::string py_version = "-";
  for (const auto& arch : o.archs) {
    for (size_t s = 0; s < o.sizes.size(); ++s) {
      const int64_t size = o.sizes[s], batch = o.batches[s];
      edge::model::ModelConfig c;
      c.arch = arch;
      c.in_channels = arch == "small_resnet" ? 1 : 3;
      c.hidden = o.hidden;
      c.num_classes = o.num_classes;
      torch::manual_seed(0);
      edge::model::MultiLabelNet net(c);
      const torch::Tensor x = torch::randn({batch, c.in_channels, size, size});
      const torch::Tensor y = (torch::rand({batch, c.num_classes}) < 0.3).to(torch::kFloat32);

      net->eval();
      const double fwd = median_seconds(
          [&] {
            torch::NoGradGuard no_grad;
            net->forward(x);
          },
          o.warmup, o.iters);
      cpp[fmt::format("{}/{}/forward", arch, size)] = batch / fwd;

      net->train();
      const double fwd_bwd = median_seconds(
          [&] {
            net->zero_grad(/*set_to_none=*/true);
            torch::binary_cross_entropy_with_logits(net->forward(x), y).backward();
          },
          o.warmup, o.iters);
      cpp[fmt::format("{}/{}/forward+backward", arch, size)] = batch / fwd_bwd;
      std::cerr << fmt::format("C++ {} @{}: {:.1f} / {:.1f} img/s\n", arch, size, batch / fwd, batch / fwd_bwd);
    }
    if (o.python.empty()) continue;
    const nlohmann::json spec = {{"archs", {arch}},      {"sizes", o.sizes},   {"batches", o.batches},
                                 {"threads", o.threads}, {"warmup", o.warmup}, {"iters", o.iters},
                                 {"hidden", o.hidden},   {"num_classes", o.num_classes}};
    const std::string out = run_command(o.python + " " + shell_quote(o.peer) + " " + shell_quote(spec.dump()));
    const auto pos = out.find("RESULT ");
    if (pos == std::string::npos) {
      std::cerr << "bench_backbones: no RESULT line from the Python peer:\n" << out;
      return 1;
    }
    const auto j = nlohmann::json::parse(out.substr(pos + 7, out.find('\n', pos) - pos - 7));
    for (const auto& [key, value] : j.at("images_per_s").items()) py[key] = value.get<double>();
    py_version = j.at("torch_version").get<std::string>();
    std::cerr << "Python peer " << arch << " done\n";
  }

  std::cout << fmt::format(
      "Backbone throughput (images/s; model = backbone + clssimp head, 8 classes)\n"
      "threads: {} intra-op, 1 inter-op, on both sides; {} timed steps (median) after {} warm-up; CPU: {}\n"
      "C++: LibTorch {} | Python: PyTorch {} ({})\n\n",
      o.threads, o.iters, o.warmup, cpu_name(), TORCH_VERSION, py_version, o.python.empty() ? "not run" : o.python);
  std::cout << "| arch | input | batch | mode | C++ img/s | PyTorch img/s | C++ / PyTorch |\n"
               "|---|---|---|---|---:|---:|---:|\n";
  for (const auto& arch : o.archs) {
    for (size_t s = 0; s < o.sizes.size(); ++s) {
      for (const std::string mode : {"forward", "forward+backward"}) {
        const std::string key = fmt::format("{}/{}/{}", arch, o.sizes[s], mode);
        const double a = cpp.at(key);
        const auto it = py.find(key);
        std::cout << fmt::format("| {} | {}x{}x{} | {} | {} | {:.1f} | {} | {} |\n", arch,
                                 arch == "small_resnet" ? 1 : 3, o.sizes[s], o.sizes[s], o.batches[s], mode, a,
                                 it == py.end() ? "-" : fmt::format("{:.1f}", it->second),
                                 it == py.end() ? "-" : fmt::format("{:.2f}", a / it->second));
      }
    }
  }
  return 0;
}
