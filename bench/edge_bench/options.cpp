#include "edge_bench/options.h"

#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include <torch/torch.h>

#include "edge/model/compute_mode.h"

namespace edge::bench::edge_bench {

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--steps") o.steps = std::stoll(value());
    else if (a == "--repeats") o.repeats = std::stoi(value());
    else if (a == "--eval_images") o.eval_images = std::stoll(value());
    else if (a == "--scores") o.scores = std::stoll(value());
    else if (a == "--metric_repeats") o.metric_repeats = std::stoi(value());
    else if (a == "--sessions") o.sessions = std::stoi(value());
    else if (a == "--scale") o.scale = true;
    else if (a == "--precision") o.precision = value();
    else if (a == "--channels_last") o.channels_last_flag = value();
    else if (a == "--python") o.python = value();
    else if (a == "--peer") o.peer = value();
    else if (a == "--no-python") o.python.clear();
    else if (a == "--no_reference") o.reference = false;
    else if (a == "--tmp") o.tmp = value();
    else if (a == "--worker") o.worker = value();
    else if (a == "--spec") o.spec = value();
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: bench_edge [--threads N] [--steps N] [--repeats N] [--eval_images N] [--scores N] "
                   "[--metric_repeats N] [--sessions N] [--scale] [--precision auto|fp32|bf16] [--channels_last auto|true|false] "
                   "[--python PATH | --no-python] [--no_reference] [--tmp DIR]\n";
      std::exit(0);
    } else {
      throw std::runtime_error("unknown flag " + a);
    }
  }
  if (o.threads < 1 || o.steps < 1 || o.repeats < 1 || o.eval_images < 1 || o.scores < 2 || o.metric_repeats < 1 ||
      o.sessions < 1)
    throw std::runtime_error("counts must be positive");
  o.precision = edge::model::resolve_precision(o.precision, torch::kCPU);  // the columns name what ran
  o.channels_last = edge::model::resolve_channels_last(o.channels_last_flag, o.precision, torch::kCPU);
  return o;
}

}  // namespace edge::bench::edge_bench
