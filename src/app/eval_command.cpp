#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "edge/data/fashion_lt.h"
#include "edge/eval/predict.h"
#include "edge/model/checkpoint.h"

namespace edge::app {

eval::OodReport run_eval(const EvalParams& p, std::ostream& out) {
  if (p.checkpoint.empty()) throw UsageError("--checkpoint: a run directory written by `edge train` is required");
  if (!std::filesystem::is_directory(p.checkpoint))
    throw DataError(fmt::format("--checkpoint: {} is not a directory (expected a run directory)", p.checkpoint.string()));
  if (p.ood_data.empty()) throw UsageError("--ood_data: at least one OOD set is required");
  const auto kind = score::parse_score(p.score_fn);
  train::TrainConfig config = train::load_run_config(p.checkpoint);
  if (!p.precision.empty()) config.precision = p.precision;
  if (p.channels_last == "true" || p.channels_last == "false") config.channels_last = p.channels_last == "true";
  else if (!p.channels_last.empty())
    throw UsageError(fmt::format("--channels_last: expected true or false, got '{}'", p.channels_last));
  const model::ComputeMode mode = config.compute_mode();
  auto model = model::load_weights(config.model, p.checkpoint / "model.pt");
  if (mode.channels_last) model::to_channels_last(*model);
  train::set_threads(p.threads > 0 ? p.threads : config.threads);

  data::FashionLtParts parts;
  parts.id_train = parts.id_val = parts.oe_train = false;
  parts.ood = p.ood_data;
  const data::Benchmark bench = data::build_fashion_lt(config.data, parts);

  const double mean = data::kFashionLtMean, std = data::kFashionLtStd;
  const torch::Tensor id_logits = eval::predict_logits(model, bench.id_test, config.eval_batch_size, mean, std, mode);
  std::vector<std::pair<std::string, torch::Tensor>> ood;
  for (const auto& set : bench.ood_tests)
    ood.emplace_back(set.name, eval::predict_logits(model, set, config.eval_batch_size, mean, std, mode));
  eval::OodReport report = eval::evaluate_ood(kind, id_logits, bench.id_test.labels, ood, p.tail_j, bench.class_names);

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
