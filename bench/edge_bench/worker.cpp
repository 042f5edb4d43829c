#include "edge_bench/worker.h"

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/metrics/ood_metrics.h"
#include "edge/model/torch_file.h"
#include "edge/train/trainer.h"
#include "edge_bench/workload.h"
#include "support/peer_process.h"
#include "support/worker_process.h"

namespace edge::bench::edge_bench {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// The worker of one of this program's sides ("edge": --precision/--channels_last of the
// coordinator, "edge-fp32": the reference mode), answering the requests of edge_peer.py.
int run_worker(const Options& o) {
  std::ifstream in(o.spec);
  if (!in) throw std::runtime_error("cannot read the worker spec " + o.spec.string());
  const json spec = json::parse(in);
  torch::set_num_interop_threads(1);
  torch::set_num_threads(spec.at("threads").get<int>());
  const std::filesystem::path dir = spec.at("dir").get<std::string>();
  const auto load = [&](const char* name) { return edge::model::load_torch_file(dir / name).toTensor(); };
  const edge::data::Benchmark data = synthetic_benchmark(load("id_images.pt"), load("id_labels.pt"),
                                                         load("oe_images.pt"), load("eval_images.pt"));
  const bool reference = o.worker == "edge-fp32";
  if (!reference && o.worker != "edge") throw std::runtime_error("unknown worker " + o.worker);
  auto config = bench_config(spec.at("threads").get<int>(), data.id_train.size(),
                             reference ? "fp32" : spec.at("precision").get<std::string>(),
                             !reference && spec.at("channels_last").get<bool>());
  config.n_epoch = spec.at("repeats").get<int>() + 1;
  std::ostringstream log;
  std::unique_ptr<edge::train::Trainer> trainer;
  std::vector<double> id_scores, ood_scores;
  edge::bench::serve_requests([&](const std::string& request) -> json {
    if (request == "info") return json::object();
    if (request == "train") {
      if (!trainer) trainer = std::make_unique<edge::train::Trainer>(config, training_data(data, config), log);
      return {{"img_s", trainer->train_epoch().images_per_s}};
    }
    if (request == "eval") {
      if (!trainer) throw std::runtime_error("eval before train");
      return {{"img_s", eval_pass(trainer->model(), data.id_test, trainer->config().compute_mode())}};
    }
    if (request == "metrics") {
      if (id_scores.empty()) {
        id_scores = read_raw(dir / "scores_id.f64");
        ood_scores = read_raw(dir / "scores_ood.f64");
      }
      const auto t0 = Clock::now();
      const auto m = edge::metrics::compute_ood_metrics(edge::metrics::ScoreView(id_scores),
                                                        edge::metrics::ScoreView(ood_scores));
      return {{"s", std::chrono::duration<double>(Clock::now() - t0).count()},
              {"values", {{"auroc", m.auroc}, {"aupr_in", m.aupr_in}, {"fpr95", m.fpr95}}}};
    }
    if (request == "peak") {
      const double mb = peak_mb();
      reset_peak();
      return {{"mb", mb}};
    }
    throw std::runtime_error("unknown request '" + request + "'");
  });
  return 0;
}

}  // namespace edge::bench::edge_bench
