// `edge calibrate`: the deployment threshold of a logit OOD score at a target ID TPR,
// computed on labelled ID data the model never trained on (the validation split).
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "edge/app/commands.h"
#include "edge/common/error.h"
#include "edge/data/augment.h"
#include "edge/data/readers.h"
#include "edge/data/registry.h"
#include "edge/eval/calibration.h"
#include "edge/eval/feature_cache.h"
#include "edge/train/predict.h"
#include "edge/eval/score_files.h"
#include "edge/eval/trained_run.h"
#include "edge/model/compute_mode.h"

namespace edge::app {

namespace {

struct IdLogits {
  torch::Tensor logits;
  std::string dataset;
  std::vector<std::string> class_names;
};

// The validation split of `requested` (an ID set), scored as `edge eval` scores its sets.
IdLogits validation_logits(eval::TrainedRun& run, const CalibrateParams& p, const std::string& requested,
                           std::ostream& out) {
  const train::TrainConfig& config = run.config;
  const data::DatasetSpec spec = data::parse_dataset_spec(requested, "--dataset");
  const auto& ids = data::id_dataset_names();
  if (std::find(ids.begin(), ids.end(), spec.name) == ids.end())
    throw UsageError(fmt::format("--dataset {}: an OOD set; calibration needs a labelled ID set ({})", requested,
                                 fmt::join(ids, ", ")));
  IdLogits r;
  r.dataset = requested;
  data::BenchmarkSpec val_only = config.benchmark_spec();  // a built-in set at the run's sizes and seed
  val_only.dataset = requested;
  if (!p.data_root.empty()) val_only.data_root = p.data_root;
  val_only.need_train = val_only.need_test = val_only.need_oe = val_only.need_ood = false;
  data::Benchmark b = data::open_benchmark(val_only);
  if (b.id_val.size() == 0 || !b.id_val.has_labels())
    throw DataError(fmt::format("--dataset {}: the validation split has no labelled images", requested));
  if (b.num_classes() != config.model.num_classes)
    throw UsageError(fmt::format("--dataset {}: {} classes, but the run's model has {} (not a compatible ID set)",
                                 requested, b.num_classes(), config.model.num_classes));
  // Any ID set's images become the run's inputs through the run's own evaluation transform.
  r.logits = eval::dataset_logits(run, b.id_val, config.eval_batch_size, p.workers, &out);
  r.class_names = requested == config.dataset ? b.class_names : eval::run_class_names(config, p.data_root);
  return r;
}

}  // namespace

eval::Calibration run_calibrate(const CalibrateParams& p, std::ostream& out) {
  const score::ScoreKind kind = eval::parse_deploy_score(p.score_fn);
  if (!(p.tpr > 0.0 && p.tpr <= 1.0)) throw UsageError(fmt::format("--tpr must be in (0, 1], got {}", p.tpr));
  if (p.score_options.topk < 1) throw UsageError(fmt::format("--topk must be at least 1, got {}", p.score_options.topk));
  if (!(p.score_options.temperature > 0))
    throw UsageError(fmt::format("--T must be positive, got {}", p.score_options.temperature));
  eval::TrainedRun run = eval::open_trained_run(p.checkpoint);
  const std::string requested = p.dataset.empty() ? run.config.dataset : p.dataset;
  train::set_threads(p.threads > 0 ? p.threads : run.config.threads);

  const IdLogits id = validation_logits(run, p, requested, out);
  const torch::Tensor s = score::compute_score(kind, id.logits, p.score_options).contiguous();
  const std::vector<double> scores(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
  const eval::TprThreshold t = eval::tpr_threshold(scores, p.tpr);

  eval::Calibration c;
  c.score = score::score_name(kind);
  c.score_options = p.score_options;
  c.tpr = p.tpr;
  c.threshold = t.threshold;
  c.achieved_tpr = t.achieved_tpr;
  c.n = int64_t(scores.size());
  c.dataset = id.dataset;
  c.split = "val";
  c.weights_hash = run.weights_hash;
  c.created = eval::utc_now_iso8601();
  c.class_names = id.class_names;
  if (!p.save_scores.empty()) eval::write_score_file(p.save_scores, scores);
  eval::write_calibration(p.checkpoint, c);
  out << fmt::format("calibrated {} on {} (validation split, {} images): threshold {:.6g} = score of rank {}; "
                     "TPR requested {}, achieved {:.4f}\n",
                     c.score, c.dataset, c.n, c.threshold, t.rank, c.tpr, c.achieved_tpr);
  out << fmt::format("wrote {} (weights {})\n", eval::calibration_file(p.checkpoint).string(), c.weights_hash);
  return c;
}

}  // namespace edge::app
