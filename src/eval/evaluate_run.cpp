#include "edge/eval/evaluate_run.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "edge/common/atomic_file.h"
#include "edge/common/content_hash.h"
#include "edge/common/device.h"
#include "edge/common/error.h"
#include "edge/common/list_flag.h"
#include "edge/data/augment.h"
#include "edge/eval/eval_set.h"
#include "edge/eval/feature_cache.h"
#include "edge/eval/html_report.h"
#include "edge/eval/score_files.h"
#include "edge/data/readers.h"
#include "edge/data/registry.h"
#include "edge/train/predict.h"
#include "edge/model/checkpoint.h"
#include "edge/model/bn_folding.h"
#include "edge/model/compute_mode.h"
#include "edge/train/train_config.h"
#include "edge/train/trainer.h"

namespace edge::eval {

namespace {

// The images an evaluation runs on, whatever holds them: the ID test set, the ID sets the
// fitted scores fit on, and a plain list of named OOD sets.
struct EvalData {
  std::string dataset;                   // benchmark name (part of the feature-cache key)
  std::vector<std::string> class_names;
  std::unique_ptr<eval::EvalSet> id_train;  // when a score needs training features / labels
  std::unique_ptr<eval::EvalSet> id_val;    // when a score needs validation logits (null: id_train serves)
  std::unique_ptr<eval::EvalSet> id_test;
  std::string id_test_split;             // the split the ID test set is ("id_test", or "id_val" for registry runs)
  std::vector<std::unique_ptr<eval::EvalSet>> ood;
  std::vector<std::string> ood_names;
  nlohmann::json sets = nlohmann::json::object();  // what each role is, for eval.json
};

// The first n of `set`'s images spread evenly (all for n <= 0).
data::Dataset subsample(data::Dataset set, int64_t n) {
  if (n <= 0 || n >= set.size()) return set;
  return data::subset(set, data::even_subsample(set.size(), n));
}

// The run's sets, opened as its training opened them (data::open_benchmark at the run's
// sizes and seed) and read through the input pipeline with the run's evaluation transform,
// which also turns any OOD set (folder:DIR, noise-blobs:500, mnist, ...) into the run's input
// format. ID test: the dataset's id_test_split. The fitted scores fit on the training split
// (no augmentation; --fit_max_images spread evenly), and those needing validation logits on
// the validation split where it is not the ID test set, else on the training split too.
EvalData build_eval_data(const train::TrainConfig& config, const EvalParams& p, bool need_train, bool need_val,
                         std::ostream& out) {
  const data::RunRecipe recipe = data::run_recipe(config.dataset, config.image_size, false, config.data);
  data::BenchmarkSpec spec = config.benchmark_spec();
  spec.ood_data = p.ood_data.empty() ? recipe.default_ood : p.ood_data;
  if (spec.ood_data.empty())
    throw UsageError(fmt::format("--ood_data: required for --dataset {} (comma-separated NAME[:PATH], e.g. "
                                 "folder:DIR,textures)", config.dataset));
  const bool test_is_val = recipe.id_test_split == "val";
  const bool fit_val = need_val && !test_is_val;
  spec.need_train = need_train || (need_val && test_is_val);
  spec.need_val = test_is_val || fit_val;
  spec.need_test = !test_is_val;
  spec.need_oe = false;
  data::Benchmark b = data::open_benchmark(spec);
  data::Dataset& id_test = test_is_val ? b.id_val : b.id_test;
  if (id_test.size() == 0 || !id_test.has_labels())
    throw DataError(fmt::format("--dataset {}: the {} split has no labelled images", config.dataset,
                                recipe.id_test_split));
  auto eval_set = [&](data::Dataset set) { return eval::dataset_eval_set(std::move(set), recipe.eval, p.workers, &out); };
  EvalData d;
  d.dataset = config.dataset;
  d.class_names = b.class_names;
  if (spec.need_train) {
    if (b.id_train.size() == 0 || !b.id_train.has_labels())
      throw DataError(fmt::format("--dataset {}: the training split has no labelled images (the fitted scores fit "
                                  "on it)", config.dataset));
    const int64_t all = b.id_train.size();
    d.id_train = eval_set(subsample(std::move(b.id_train), p.fit_max_images));
    d.sets["fit_train"] = {{"name", d.id_train->name()}, {"split", "train"}, {"images", d.id_train->size()},
                           {"of", all}, {"fit_max_images", p.fit_max_images}};
  }
  if (fit_val) {
    d.id_val = eval_set(std::move(b.id_val));
    d.sets["fit_val"] = {{"name", d.id_val->name()}, {"split", "val"}, {"images", d.id_val->size()}};
  }
  d.id_test = eval_set(std::move(id_test));
  d.id_test_split = "id_" + recipe.id_test_split;
  d.sets["id_test"] = {{"name", d.id_test->name()}, {"split", recipe.id_test_split}};
  for (size_t i = 0; i < b.ood_tests.size(); ++i) {
    d.ood_names.push_back(spec.ood_data[i]);
    d.ood.push_back(eval_set(std::move(b.ood_tests[i])));
  }
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

// A set name as a file name: registry OOD sets are named by their NAME[:PATH] spec.
std::string score_file_stem(const std::string& set_name) {
  std::string out;
  for (char c : set_name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}

torch::Tensor labels_of(const eval::EvalSet& set, const std::vector<int64_t>& rows) {
  const torch::Tensor labels = set.labels();
  if (!labels.defined()) throw DataError(fmt::format("set {} has no labels", set.name()));
  return labels.index_select(0, torch::tensor(rows, torch::kInt64));
}

// Writes the reports into `dir` -- eval.json (the first score's report at the top level, the
// single-score format; every score under "reports" with its fit summary; plus `top`),
// eval.csv, eval.md and eval.html, each atomically -- and prints the tables.
void write_reports(const std::filesystem::path& dir, const std::vector<eval::OodReport>& reports,
                   const nlohmann::json& fits, nlohmann::json top, const eval::HtmlReportInfo& html,
                   std::ostream& out) {
  nlohmann::json j = eval::report_to_json(reports.front());
  j.update(top);
  j["scores"] = nlohmann::json::array();
  j["reports"] = nlohmann::json::array();
  for (const auto& r : reports) {
    j["scores"].push_back(r.score);
    nlohmann::json rj = eval::report_to_json(r);
    rj["fit"] = fits.at(r.score);
    j["reports"].push_back(rj);
  }
  write_text_atomically(dir / "eval.json", j.dump(2) + "\n");
  write_text_atomically(dir / "eval.csv", eval::reports_to_csv(reports));
  write_text_atomically(dir / "eval.md", eval::reports_to_markdown(reports));
  write_text_atomically(dir / "eval.html", eval::render_html_report(reports, html));
  for (const auto& r : reports) out << eval::format_report(r) << "\n";
  if (reports.size() > 1) out << eval::format_summary(reports);
  out << fmt::format("wrote {}, eval.csv, eval.md and eval.html\n", (dir / "eval.json").string());
}


}  // namespace

namespace {

// The scores asked for, each once, and what they need between them.
std::vector<score::Scorer> make_scorers(const EvalParams& p, score::ScoreNeeds& needs) {
  std::vector<score::Scorer> scorers;
  for (const auto& name : split_list(p.score_fn)) {
    const score::ScoreKind kind = score::parse_score(name);
    for (const auto& s : scorers)
      if (s.kind() == kind) throw UsageError(fmt::format("--score_fn: score {} is listed twice", s.name()));
    scorers.emplace_back(kind, p.score_options);
  }
  if (scorers.empty()) throw UsageError("--score_fn: at least one score is required");
  for (const auto& s : scorers) {
    const auto n = s.needs();
    needs.train_features |= n.train_features;
    needs.train_labels |= n.train_labels;
    needs.val_logits |= n.val_logits;
    needs.inputs |= n.inputs;
  }
  return scorers;
}

// The run to evaluate: its configuration (with this evaluation's overrides, resolved for
// `device`), its model in eval mode on `device`, and the weights' hash (the cache key).
struct LoadedRun {
  train::TrainConfig config;
  model::ComputeMode mode;
  model::MultiLabelNet model{nullptr};
  std::string checkpoint_hash;
};

LoadedRun load_run(const EvalParams& p, const torch::Device& device) {
  LoadedRun r;
  r.config = train::load_run_config(p.checkpoint);
  if (!p.data_root.empty()) r.config.data_root = p.data_root;
  if (!p.precision.empty()) r.config.precision = p.precision;
  if (!p.channels_last.empty()) r.config.channels_last = p.channels_last;
  r.config.resolve_compute_mode(device);
  r.mode = r.config.compute_mode();
  const auto weights = p.checkpoint / "model.pt";
  r.model = model::load_weights(r.config.model, weights);
  if (r.mode.channels_last) model::to_channels_last(*r.model);
  r.model->eval();
  r.model->to(device);  // features are extracted where the model is and come back to the CPU
  r.checkpoint_hash = hex64(file_fnv1a(weights));
  return r;
}

// Network outputs, once per set, through the on-disk cache.
class Extractor {
 public:
  Extractor(LoadedRun& run, const std::string& dataset, const EvalParams& p)
      : run_(run), dataset_(dataset),
        cache_(p.no_cache ? std::filesystem::path()
                          : (p.cache_dir.empty() ? p.checkpoint / "cache" / "features" : p.cache_dir)) {}

  const ExtractedSet& of(const EvalSet& set, const std::string& split) {
    if (auto it = extracted_.find(&set); it != extracted_.end()) return it->second;
    const model::ComputeMode& mode = run_.mode;
    // The compute mode is part of the key: bf16, the folded BatchNorms and their layout round differently.
    const bool blocked = model::preferred_folded_layout(train::model_device(run_.model), mode) ==
                         model::FoldedLayout::Blocked;
    const std::string arithmetic = std::string(mode.bf16 ? "; bf16 autocast" : "; fp32") +
                                   (mode.is_reference() ? "" : blocked ? "; BatchNorm folded, blocked layout"
                                                                       : "; BatchNorm folded");
    const CacheKey key{run_.checkpoint_hash, dataset_, split, set.transform() + arithmetic, set.content_hash()};
    ExtractedSet e = cache_.get(key, [&] {
      model::AutocastScope autocast(mode.bf16);  // the features come back as float32
      // The fast modes fold every BatchNorm into its convolution (model/bn_folding.h) while
      // extracting; the reference mode keeps its bit-identical unfolded arithmetic.
      std::optional<model::FoldedInference> folded;
      if (!mode.is_reference()) folded.emplace(*run_.model, mode);
      return set.extract(run_.model, run_.config.eval_batch_size);
    });
    return extracted_.emplace(&set, std::move(e)).first->second;
  }
  const FeatureCache& cache() const { return cache_; }

 private:
  LoadedRun& run_;
  std::string dataset_;
  FeatureCache cache_;
  std::map<const EvalSet*, ExtractedSet> extracted_;
};

// The model pieces the fitted and perturbation scores use.
score::ModelAccess model_access(model::MultiLabelNet& model, const torch::Device& device, const EvalSet& id_test) {
  score::ModelAccess access;
  access.head_from_pooled = [&model, device](const torch::Tensor& pooled) {
    return model->head()->classify(model->head()->hidden(pooled.to(device))).cpu();
  };
  access.cls_weight = model->head()->classifier()->weight.detach().cpu();
  access.cls_bias = model->head()->classifier()->bias.detach().cpu();
  access.logits_from_input = [&model, device](const torch::Tensor& x) { return model->forward(x.to(device)).cpu(); };
  access.pooled_from_input = [&model, device](const torch::Tensor& x) {
    return model->forward_all(x.to(device)).pooled.cpu();
  };
  access.channel_std = id_test.channel_std();  // fashion-lt: one gray std; registry: ImageNet's three
  return access;
}

// What the fitted scores fit on.
score::FitData fit_data(const EvalData& data, const score::ScoreNeeds& needs, Extractor& features) {
  score::FitData fit;
  if (needs.train_features) fit.train = features.of(*data.id_train, "id_train").features;
  if (needs.train_labels) fit.train_labels = labels_of(*data.id_train, features.of(*data.id_train, "id_train").rows);
  if (needs.val_logits)
    fit.val = data.id_val ? features.of(*data.id_val, "id_val").features : features.of(*data.id_train, "id_train").features;
  return fit;
}

// One score over the ID test set and every OOD set: its report (and, with --save_scores, its
// raw scores on disk).
OodReport score_sets(score::Scorer& scorer, const EvalData& data, Extractor& features,
                     const score::ModelAccess& access, const EvalParams& p, int64_t batch_size,
                     metrics::FprConvention convention) {
  auto score_set = [&](const ExtractedSet& f, const EvalSet& set, const std::string& name) {
    std::optional<score::InputBatches> b;
    if (scorer.needs().inputs) b = set.inputs(f.rows, batch_size);
    auto v = to_vector(scorer.score(f.features, access, b ? &*b : nullptr));
    check_finite(v, scorer.name(), name);
    return v;
  };
  const ExtractedSet& id = features.of(*data.id_test, data.id_test_split);
  const std::vector<double> id_scores = score_set(id, *data.id_test, data.id_test->name());
  NamedScores ood_scores;
  for (size_t i = 0; i < data.ood.size(); ++i)
    ood_scores.emplace_back(data.ood_names[i], score_set(features.of(*data.ood[i], "ood_" + data.ood_names[i]),
                                                         *data.ood[i], data.ood_names[i]));
  if (!p.save_scores.empty()) {
    write_score_file(p.save_scores / scorer.name() / "id_test.txt", id_scores);
    for (const auto& [name, s] : ood_scores)
      write_score_file(p.save_scores / scorer.name() / (score_file_stem(name) + ".txt"), s);
  }
  return evaluate_scores(scorer.name(), id_scores, ood_scores, id.features.logits, labels_of(*data.id_test, id.rows),
                         p.tail_j, data.class_names, convention);
}

// eval.json's top level beside the reports: the run, the sets, the cache's use.
nlohmann::json run_summary(const EvalParams& p, const LoadedRun& run, const EvalData& data,
                           const FeatureCache& cache) {
  nlohmann::json top;
  top["checkpoint"] = std::filesystem::absolute(p.checkpoint).string();
  top["checkpoint_hash"] = run.checkpoint_hash;
  top["sets"] = data.sets;
  top["feature_cache"] = {{"dir", cache.dir().empty() ? nlohmann::json(nullptr) : nlohmann::json(cache.dir().string())},
                          {"hits", cache.hits()},
                          {"misses", cache.misses()},
                          {"rebuilt", cache.rebuilt()}};
  if (!p.save_scores.empty()) top["scores_dir"] = std::filesystem::absolute(p.save_scores).string();
  return top;
}

}  // namespace

std::vector<OodReport> evaluate_run(const EvalParams& p, std::ostream& out) {
  const torch::Device device = resolve_device(p.device);  // first: a bad device fails before any work
  if (p.checkpoint.empty()) throw UsageError("--checkpoint: a run directory written by `edge train` is required");
  if (!std::filesystem::is_directory(p.checkpoint))
    throw DataError(fmt::format("--checkpoint: {} is not a directory (expected a run directory)", p.checkpoint.string()));
  const auto convention = parse_convention(p.fpr_convention);
  score::ScoreNeeds needs;
  std::vector<score::Scorer> scorers = make_scorers(p, needs);
  if (p.fit_max_images < 0)
    throw UsageError(fmt::format("--fit_max_images: expected 0 (all) or a positive count, got {}", p.fit_max_images));

  LoadedRun run = load_run(p, device);
  train::set_threads(p.threads > 0 ? p.threads : run.config.threads);
  const bool need_train = needs.train_features || needs.train_labels;
  const EvalData data = build_eval_data(run.config, p, need_train, needs.val_logits, out);
  Extractor features(run, data.dataset, p);
  const score::FitData fit = fit_data(data, needs, features);
  const ExtractedSet& id = features.of(*data.id_test, data.id_test_split);
  out << fmt::format("ID: {} ({} images), transform {}\n", data.id_test->name(), id.rows.size(),
                     data.id_test->transform());
  const score::ModelAccess access = model_access(run.model, device, *data.id_test);

  std::vector<OodReport> reports;
  nlohmann::json fits = nlohmann::json::object();
  for (auto& scorer : scorers) {
    scorer.fit(fit, access);
    reports.push_back(score_sets(scorer, data, features, access, p, run.config.eval_batch_size, convention));
    fits[scorer.name()] = scorer.fit_summary();
  }
  if (!p.save_scores.empty()) write_label_file(p.save_scores / "id_test_labels.txt", labels_of(*data.id_test, id.rows));
  out << fmt::format("feature cache: {} hits {} misses{}\n", features.cache().hits(), features.cache().misses(),
                     features.cache().dir().empty() ? " (cache off)" : " in " + features.cache().dir().string());
  for (const auto& why : features.cache().rebuilt()) out << "feature cache: rebuilt an unreadable entry: " << why << "\n";
  HtmlReportInfo html;  // eval.html: the plots and tables of every score, self-contained
  html.meta = {{"checkpoint", std::filesystem::absolute(p.checkpoint).string()},
               {"dataset", run.config.dataset},
               {"OOD sets", fmt::format("{}", fmt::join(data.ood_names, ", "))}};
  const auto dir = p.out.empty() ? p.checkpoint / "eval" : p.out;
  write_reports(dir, reports, fits, run_summary(p, run, data, features.cache()), html, out);
  return reports;
}

}  // namespace edge::eval
