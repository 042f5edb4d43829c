#include "edge_bench/options.h"

#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "edge/model/compute_mode.h"
#include "support/cli_parse.h"

namespace edge::bench::edge_bench {

Options parse(int argc, char** argv) {
  Options o;
  CLI::App app{"bench_edge: the EDGE training step, evaluation and OOD metrics, this project vs PyTorch peers"};
  app.add_option("--threads", o.threads, "intra-op threads of every side");
  app.add_option("--steps", o.steps, "training steps per timed epoch");
  app.add_option("--repeats", o.repeats, "reported rounds per session (after one warm-up round)");
  app.add_option("--eval_images", o.eval_images, "images per evaluation pass");
  app.add_option("--scores", o.scores, "scores for the metrics (half ID, half OOD)");
  app.add_option("--metric_repeats", o.metric_repeats, "metrics computations in all, spread over the sessions");
  app.add_option("--sessions", o.sessions, "fresh worker processes per side");
  app.add_flag("--scale", o.scale, "add this project's time and memory for larger sets");
  app.add_option("--precision", o.precision, "edge column's precision: auto|fp32|bf16");
  app.add_option("--channels_last", o.channels_last_flag, "edge column's layout: auto|true|false");
  app.add_option("--python", o.python, "the peers' interpreter (needs torch, sklearn, numpy)");
  app.add_option("--peer", o.peer, "edge_peer.py");
  app.add_flag_callback("--no-python", [&o] { o.python.clear(); }, "this project's columns only");
  app.add_flag_callback("--no_reference", [&o] { o.reference = false; }, "leave out the edge fp32 column");
  app.add_option("--tmp", o.tmp, "folder for the shared data (default: a fresh one under the temp directory)");
  // Internal: how this program re-runs itself as the worker of one of its sides.
  app.add_option("--worker", o.worker)->group("");
  app.add_option("--spec", o.spec)->group("");
  edge::bench::parse_cli(app, argc, argv);
  if (o.threads < 1 || o.steps < 1 || o.repeats < 1 || o.eval_images < 1 || o.scores < 2 || o.metric_repeats < 1 ||
      o.sessions < 1)
    throw std::runtime_error("counts must be positive");
  o.precision = edge::model::resolve_precision(o.precision, torch::kCPU);  // the columns name what ran
  o.channels_last = edge::model::resolve_channels_last(o.channels_last_flag, o.precision, torch::kCPU);
  return o;
}

}  // namespace edge::bench::edge_bench
