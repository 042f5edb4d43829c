#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "edge/data/augment.h"
#include "edge/data/fashion_lt.h"
#include "edge/data/registry.h"
#include "edge/eval/predict.h"
#include "edge/model/checkpoint.h"

namespace edge::app {

namespace {

// Evaluation of a run trained on a registry dataset, through the input pipeline with the
// deterministic evaluation transform. ID images: the validation split, as the reference
// scores its validation loader as ID (COCO's and VOC's test splits have no labels).
// Corrupt images are left out with a warning.
eval::OodReport evaluate_registry_run(const train::TrainConfig& config, const EvalParams& p,
                                      model::MultiLabelNet& model, score::ScoreKind kind, std::ostream& out) {
  if (!p.ood_data_given)
    throw UsageError(fmt::format("--ood_data: required for --dataset {} (comma-separated NAME[:PATH], e.g. "
                                 "folder:DIR,textures)", config.dataset));
  data::BenchmarkSpec spec;
  spec.dataset = config.dataset;
  spec.data_root = config.data_root;
  spec.ood_data = p.ood_data;
  spec.need_train = spec.need_oe = spec.need_test = false;
  const data::DatasetBenchmark b = data::open_benchmark(spec);
  const data::Dataset& id = b.id_val;
  if (id.size() == 0 || !id.has_labels())
    throw DataError(fmt::format("--dataset {}: the validation split has no labelled images", config.dataset));
  const data::Transform t = data::reference_eval_transform(config.image_size);
  std::vector<int64_t> kept;
  const torch::Tensor id_logits =
      eval::predict_logits(model, id, t, config.eval_batch_size, p.workers, &out, &kept);
  const torch::Tensor id_labels = id.labels.index_select(0, torch::tensor(kept, torch::kInt64));
  std::vector<std::pair<std::string, torch::Tensor>> ood;
  for (size_t i = 0; i < b.ood_tests.size(); ++i)
    ood.emplace_back(p.ood_data[i],
                     eval::predict_logits(model, b.ood_tests[i], t, config.eval_batch_size, p.workers, &out));
  out << fmt::format("ID: {} ({} images), transform {}\n", id.name, id_logits.size(0), t.name);
  return eval::evaluate_ood(kind, id_logits, id_labels, ood, p.tail_j, b.class_names);
}

}  // namespace

eval::OodReport run_eval(const EvalParams& p, std::ostream& out) {
  if (p.checkpoint.empty()) throw UsageError("--checkpoint: a run directory written by `edge train` is required");
  if (!std::filesystem::is_directory(p.checkpoint))
    throw DataError(fmt::format("--checkpoint: {} is not a directory (expected a run directory)", p.checkpoint.string()));
  if (p.ood_data.empty()) throw UsageError("--ood_data: at least one OOD set is required");
  const auto kind = score::parse_score(p.score_fn);
  const train::TrainConfig config = train::load_run_config(p.checkpoint);
  auto model = model::load_weights(config.model, p.checkpoint / "model.pt");
  train::set_threads(p.threads > 0 ? p.threads : config.threads);

  eval::OodReport report;
  if (config.dataset == "fashion-lt") {
    data::FashionLtParts parts;
    parts.id_train = parts.id_val = parts.oe_train = false;
    parts.ood = p.ood_data;
    const data::Benchmark bench = data::build_fashion_lt(config.data, parts);

    const double mean = data::kFashionLtMean, std = data::kFashionLtStd;
    const torch::Tensor id_logits = eval::predict_logits(model, bench.id_test, config.eval_batch_size, mean, std);
    std::vector<std::pair<std::string, torch::Tensor>> ood;
    for (const auto& set : bench.ood_tests)
      ood.emplace_back(set.name, eval::predict_logits(model, set, config.eval_batch_size, mean, std));
    report = eval::evaluate_ood(kind, id_logits, bench.id_test.labels, ood, p.tail_j, bench.class_names);
  } else {
    report = evaluate_registry_run(config, p, model, kind, out);
  }

  const auto dir = p.out.empty() ? p.checkpoint / "eval" : p.out;
  nlohmann::json j = eval::report_to_json(report);
  j["checkpoint"] = std::filesystem::absolute(p.checkpoint).string();
  write_text_atomically(dir / "eval.json", j.dump(2) + "\n");
  write_text_atomically(dir / "eval.csv", eval::report_to_csv(report));
  out << eval::format_report(report);
  out << fmt::format("wrote {} and {}\n", (dir / "eval.json").string(), (dir / "eval.csv").string());
  return report;
}

}  // namespace edge::app
