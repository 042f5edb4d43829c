#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "app/list_flag.h"
#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "edge/common/content_hash.h"
#include "edge/common/device.h"
#include "edge/common/error.h"
#include "edge/data/augment.h"
#include "edge/data/fashion_lt.h"
#include "edge/eval/feature_cache.h"
#include "edge/eval/html_report.h"
#include "edge/eval/score_files.h"
#include "edge/data/registry.h"
#include "edge/eval/predict.h"
#include "edge/model/checkpoint.h"
#include "edge/model/compute_mode.h"

namespace edge::app {

namespace {

// The images an evaluation runs on. The OOD sets are a plain list of named image sets,
// whatever produced them.
struct EvalData {
  std::string dataset;                   // benchmark name (part of the feature-cache key)
  std::vector<std::string> class_names;
  data::ImageSet id_train, id_val, id_test;  // train / val only when a score needs them
  std::vector<data::ImageSet> ood;
  double mean = 0, std = 1;              // input normalisation (x/255 - mean) / std
};

EvalData build_eval_data(const train::TrainConfig& config, const EvalParams& p, bool need_train, bool need_val) {
  data::FashionLtParts parts;
  parts.id_train = need_train;
  parts.id_val = need_val;
  parts.oe_train = false;
  parts.ood = p.ood_data;
  data::Benchmark bench = data::build_fashion_lt(config.data, parts);
  EvalData d;
  d.dataset = config.dataset;
  d.class_names = bench.class_names;
  d.id_train = std::move(bench.id_train);
  d.id_val = std::move(bench.id_val);
  d.id_test = std::move(bench.id_test);
  d.ood = std::move(bench.ood_tests);
  d.mean = data::kFashionLtMean;
  d.std = data::kFashionLtStd;
  return d;
}

metrics::FprConvention parse_convention(const std::string& s) {
  if (s == "id_positive") return metrics::FprConvention::IdPositiveNearest;
  if (s == "ood_positive") return metrics::FprConvention::OodPositive;
  throw UsageError(fmt::format("--fpr_convention: expected id_positive or ood_positive, got '{}'", s));
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

void check_finite(const std::vector<double>& v, const std::string& score, const std::string& set) {
  for (double x : v)
    if (!std::isfinite(x))
      throw NumericError(fmt::format("score {} is not finite on set {} (got {})", score, set, x));
}

// Evaluation of a run trained on a registry dataset, through the input pipeline with the
// deterministic evaluation transform. ID images: the validation split, as the reference
// scores its validation loader as ID (COCO's and VOC's test splits have no labels).
// Corrupt images are left out with a warning.
// Logits are extracted once per set; every requested score must be computable from logits
// alone (the fitted / input-gradient scores read fashion-lt's in-memory sets for now).
std::vector<eval::OodReport> evaluate_registry_run(const train::TrainConfig& config, const EvalParams& p,
                                                   model::MultiLabelNet& model,
                                                   const std::vector<score::Scorer>& scorers,
                                                   metrics::FprConvention convention, std::ostream& out) {
  for (const auto& s : scorers) {
    const score::ScoreNeeds n = s.needs();
    if (n.train_features || n.train_labels || n.val_logits || n.head || n.inputs)
      throw UsageError(fmt::format("--score_fn {}: scores fitted on training/validation features or needing input "
                                   "gradients run on fashion-lt runs only; for --dataset {} use logit scores "
                                   "(energy_sum, energy_max, max_logit, msp, ...)", s.name(), config.dataset));
  }
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
  std::vector<eval::OodReport> reports;
  for (const auto& s : scorers)
    reports.push_back(eval::evaluate_ood(s.kind(), id_logits, id_labels, ood, p.tail_j, b.class_names, convention));
  return reports;
}

// eval.html: the plots and tables of every score, self-contained.
void write_html_report(const std::filesystem::path& dir, const std::vector<eval::OodReport>& reports,
                       const EvalParams& p, const std::string& dataset) {
  eval::HtmlReportInfo info;
  info.meta = {{"checkpoint", std::filesystem::absolute(p.checkpoint).string()},
               {"dataset", dataset},
               {"OOD sets", fmt::format("{}", fmt::join(p.ood_data, ", "))}};
  write_text_atomically(dir / "eval.html", eval::render_html_report(reports, info));
}

}  // namespace

std::vector<eval::OodReport> run_eval(const EvalParams& p, std::ostream& out) {
  const torch::Device device = resolve_device(p.device);  // first: a bad device fails before any work
  if (p.checkpoint.empty()) throw UsageError("--checkpoint: a run directory written by `edge train` is required");
  if (!std::filesystem::is_directory(p.checkpoint))
    throw DataError(fmt::format("--checkpoint: {} is not a directory (expected a run directory)", p.checkpoint.string()));
  if (p.ood_data.empty()) throw UsageError("--ood_data: at least one OOD set is required");
  const auto convention = parse_convention(p.fpr_convention);
  std::vector<score::Scorer> scorers;
  for (const auto& name : split_list(p.score_fn)) {
    const score::ScoreKind kind = score::parse_score(name);
    for (const auto& s : scorers)
      if (s.kind() == kind) throw UsageError(fmt::format("--score_fn: score {} is listed twice", s.name()));
    scorers.emplace_back(kind, p.score_options);
  }
  if (scorers.empty()) throw UsageError("--score_fn: at least one score is required");
  score::ScoreNeeds needs;
  for (const auto& s : scorers) {
    const auto n = s.needs();
    needs.train_features |= n.train_features;
    needs.train_labels |= n.train_labels;
    needs.val_logits |= n.val_logits;
    needs.inputs |= n.inputs;
  }

  train::TrainConfig config = train::load_run_config(p.checkpoint);
  if (!p.precision.empty()) config.precision = p.precision;
  if (p.channels_last == "true" || p.channels_last == "false") config.channels_last = p.channels_last == "true";
  else if (!p.channels_last.empty())
    throw UsageError(fmt::format("--channels_last: expected true or false, got '{}'", p.channels_last));
  const model::ComputeMode mode = config.compute_mode();
  const auto weights = p.checkpoint / "model.pt";
  auto model = model::load_weights(config.model, weights);
  if (mode.channels_last) model::to_channels_last(*model);
  model->eval();
  model->to(device);  // features are extracted where the model is and come back to the CPU
  train::set_threads(p.threads > 0 ? p.threads : config.threads);
  const auto dir = p.out.empty() ? p.checkpoint / "eval" : p.out;
  if (config.dataset != "fashion-lt") {
    const std::vector<eval::OodReport> reports = evaluate_registry_run(config, p, model, scorers, convention, out);
    nlohmann::json j = eval::report_to_json(reports.front());
    j["checkpoint"] = std::filesystem::absolute(p.checkpoint).string();
    j["reports"] = nlohmann::json::array();
    for (const auto& r : reports) j["reports"].push_back(eval::report_to_json(r));
    write_text_atomically(dir / "eval.json", j.dump(2) + "\n");
    write_text_atomically(dir / "eval.csv", eval::reports_to_csv(reports));
    write_text_atomically(dir / "eval.md", eval::reports_to_markdown(reports));
    write_html_report(dir, reports, p, config.dataset);
    for (const auto& r : reports) out << eval::format_report(r) << "\n";
    if (reports.size() > 1) out << eval::format_summary(reports);
    out << fmt::format("wrote {}, eval.csv, eval.md and eval.html\n", (dir / "eval.json").string());
    return reports;
  }
  const EvalData data = build_eval_data(config, p, needs.train_features || needs.train_labels, needs.val_logits);

  // Network outputs, once per set, through the on-disk cache.
  const std::string checkpoint_hash = hex64(file_fnv1a(weights));
  const std::string transform = fmt::format("eval: x/255, normalise mean {} std {}, no augmentation; {}", data.mean,
                                            data.std, mode.bf16 ? "bf16 autocast" : "fp32");
  eval::FeatureCache cache(p.no_cache ? std::filesystem::path()
                                      : (p.cache_dir.empty() ? p.checkpoint / "cache" / "features" : p.cache_dir));
  auto features_of = [&](const data::ImageSet& set, const std::string& split) {
    const eval::CacheKey key{checkpoint_hash, data.dataset, split, transform, eval::image_set_hash(set)};
    return cache.get(key, [&] {
      model::AutocastScope autocast(mode.bf16);  // the features come back as float32
      return eval::extract_features(model, set, config.eval_batch_size, data.mean, data.std);
    });
  };
  score::FitData fit;
  if (needs.train_features) fit.train = features_of(data.id_train, "id_train");
  if (needs.train_labels) fit.train_labels = data.id_train.labels;
  if (needs.val_logits) fit.val = features_of(data.id_val, "id_val");
  const score::SetFeatures id_features = features_of(data.id_test, "id_test");
  std::vector<score::SetFeatures> ood_features;
  for (const auto& set : data.ood) ood_features.push_back(features_of(set, "ood_" + set.name));

  // The model pieces the fitted and perturbation scores use.
  score::ModelAccess access;
  access.head_from_pooled = [&](const torch::Tensor& pooled) {
    return model->head()->classify(model->head()->hidden(pooled.to(device))).cpu();
  };
  const auto params = model->named_parameters(true);
  access.cls_weight = params["clsfier.cls.weight"].detach().cpu();
  access.cls_bias = params["clsfier.cls.bias"].detach().cpu();
  access.logits_from_input = [&](const torch::Tensor& x) { return model->forward(x.to(device)).cpu(); };
  access.pooled_from_input = [&](const torch::Tensor& x) { return model->forward_all(x.to(device)).pooled.cpu(); };
  access.channel_std = {data.std};
  auto batches_of = [&](const data::ImageSet& set) {
    score::InputBatches b;
    const int64_t bs = config.eval_batch_size;
    b.count = (set.size() + bs - 1) / bs;
    b.batch = [&set, bs, &data](int64_t i) {
      return data::to_float_input(set.images.slice(0, i * bs, std::min(set.size(), (i + 1) * bs)), data.mean, data.std);
    };
    return b;
  };

  std::vector<eval::OodReport> reports;
  nlohmann::json fits = nlohmann::json::object();
  for (auto& scorer : scorers) {
    scorer.fit(fit, access);
    auto score_set = [&](const score::SetFeatures& f, const data::ImageSet& set) {
      const score::InputBatches b = batches_of(set);
      auto v = to_vector(scorer.score(f, access, &b));
      check_finite(v, scorer.name(), set.name);
      return v;
    };
    const std::vector<double> id_scores = score_set(id_features, data.id_test);
    eval::NamedScores ood_scores;
    for (size_t i = 0; i < data.ood.size(); ++i) ood_scores.emplace_back(data.ood[i].name, score_set(ood_features[i], data.ood[i]));
    if (!p.save_scores.empty()) {
      eval::write_score_file(p.save_scores / scorer.name() / "id_test.txt", id_scores);
      for (const auto& [name, s] : ood_scores) eval::write_score_file(p.save_scores / scorer.name() / (name + ".txt"), s);
    }
    reports.push_back(eval::evaluate_scores(scorer.name(), id_scores, ood_scores, id_features.logits,
                                            data.id_test.labels, p.tail_j, data.class_names, convention));
    fits[scorer.name()] = scorer.fit_summary();
  }
  if (!p.save_scores.empty()) eval::write_label_file(p.save_scores / "id_test_labels.txt", data.id_test.labels);

  // Top level: the first score's report (the single-score format); "reports": every score.
  nlohmann::json j = eval::report_to_json(reports.front());
  j["checkpoint"] = std::filesystem::absolute(p.checkpoint).string();
  j["checkpoint_hash"] = checkpoint_hash;
  j["scores"] = nlohmann::json::array();
  j["reports"] = nlohmann::json::array();
  for (const auto& r : reports) {
    j["scores"].push_back(r.score);
    nlohmann::json rj = eval::report_to_json(r);
    rj["fit"] = fits[r.score];
    j["reports"].push_back(rj);
  }
  j["feature_cache"] = {{"dir", cache.dir().empty() ? nlohmann::json(nullptr) : nlohmann::json(cache.dir().string())},
                        {"hits", cache.hits()},
                        {"misses", cache.misses()}};
  if (!p.save_scores.empty()) j["scores_dir"] = std::filesystem::absolute(p.save_scores).string();
  write_text_atomically(dir / "eval.json", j.dump(2) + "\n");
  write_text_atomically(dir / "eval.csv", eval::reports_to_csv(reports));
  write_text_atomically(dir / "eval.md", eval::reports_to_markdown(reports));
  write_html_report(dir, reports, p, config.dataset);
  for (const auto& r : reports) out << eval::format_report(r) << "\n";
  if (reports.size() > 1) out << eval::format_summary(reports);
  out << fmt::format("features: {} set(s) from the cache, {} extracted{}\n", cache.hits(), cache.misses(),
                     cache.dir().empty() ? " (cache off)" : " into " + cache.dir().string());
  out << fmt::format("wrote {}, eval.csv, eval.md and eval.html\n", (dir / "eval.json").string());
  return reports;
}

}  // namespace edge::app
