#include "edge/score/scorer.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/score/gradnorm.h"
#include "edge/score/input_perturbation.h"
#include "edge/score/react.h"

namespace edge::score {

namespace {

Reduction reduction_of(ScoreKind k) {
  return (k == ScoreKind::OdinMax || k == ScoreKind::MahalanobisMax) ? Reduction::Max : Reduction::Sum;
}

void require(const torch::Tensor& t, const std::string& what, const std::string& score) {
  if (!t.defined()) throw UsageError(fmt::format("score {} needs the {}", score, what));
}

}  // namespace

ScoreNeeds score_needs(ScoreKind kind, const ScoreOptions& o) {
  ScoreNeeds n;
  switch (kind) {
    case ScoreKind::OdinMax:
    case ScoreKind::OdinSum: n.inputs = o.noise > 0; break;
    case ScoreKind::MahalanobisMax:
    case ScoreKind::MahalanobisSum:
      n.train_features = n.train_labels = true;
      n.inputs = o.noise > 0;
      break;
    case ScoreKind::Lof:
    case ScoreKind::IsolationForest: n.val_logits = true; break;
    case ScoreKind::Vim: n.train_features = n.head = true; break;
    case ScoreKind::React: n.train_features = n.head = true; break;
    case ScoreKind::Knn: n.train_features = true; break;
    case ScoreKind::Kl: n.train_labels = true; break;
    default: break;
  }
  return n;
}

Scorer::Scorer(ScoreKind kind, ScoreOptions options)
    : kind_(kind), options_(std::move(options)), name_(score_name(kind)), lof_(options_.lof_k), isol_(options_.isol) {
  if (kind_ == ScoreKind::React) {
    const ScoreKind agg = parse_score(options_.react_aggregate);
    if (!is_logit_score(agg) || agg == ScoreKind::OdinMax || agg == ScoreKind::OdinSum)
      throw UsageError(fmt::format("--react_score: expected a logit score such as energy_mc or energy_sum, got '{}'",
                                   options_.react_aggregate));
  }
}

void Scorer::fit(const FitData& d, const ModelAccess& m) {
  switch (kind_) {
    case ScoreKind::MahalanobisMax:
    case ScoreKind::MahalanobisSum:
      require(d.train.pooled, "training set's pooled features", name_);
      require(d.train_labels, "training labels", name_);
      gaussian_ = fit_tied_gaussian(d.train.pooled, d.train_labels, options_.mahalanobis_rcond);
      break;
    case ScoreKind::Lof:
      require(d.val.logits, "validation logits", name_);
      lof_.fit(d.val.logits);
      break;
    case ScoreKind::IsolationForest:
      require(d.val.logits, "validation logits", name_);
      isol_.fit(d.val.logits);
      break;
    case ScoreKind::Vim:
      require(d.train.hidden, "training set's hidden features", name_);
      require(m.cls_weight, "head's last layer", name_);
      vim_ = fit_vim(d.train.hidden, m.cls_weight, m.cls_bias, options_.vim_dim);
      break;
    case ScoreKind::React:
      require(d.train.pooled, "training set's pooled features", name_);
      react_clip_ = percentile(d.train.pooled, options_.react_percentile);
      break;
    case ScoreKind::Knn:
      require(d.train.pooled, "training set's pooled features", name_);
      if (options_.knn_k < 1 || options_.knn_k > d.train.pooled.size(0))
        throw UsageError(fmt::format("--knn_k: expected k in [1, {}] (training images), got {}", d.train.pooled.size(0),
                                     options_.knn_k));
      knn_train_ = d.train.pooled;
      break;
    case ScoreKind::Kl:
      require(d.train_labels, "training labels", name_);
      kl_ = cooccurrence_templates(d.train_labels, options_.kl_smoothing);
      break;
    default: break;
  }
  fitted_ = true;
}

torch::Tensor Scorer::score(const SetFeatures& s, const ModelAccess& m, const InputBatches* inputs) const {
  const bool fitted_kind = !is_logit_score(kind_) && kind_ != ScoreKind::GradNorm;
  if (fitted_kind && !fitted_) throw UsageError(fmt::format("score {} must be fitted before scoring", name_));
  const LogitScoreOptions lo{options_.topk, options_.temperature};
  if (needs().inputs) {
    if (inputs == nullptr) throw UsageError(fmt::format("score {} with --noise > 0 needs the images", name_));
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < inputs->count; ++i) {
      const torch::Tensor x = inputs->batch(i);
      if (kind_ == ScoreKind::OdinMax || kind_ == ScoreKind::OdinSum)
        out.push_back(odin_scores(m.logits_from_input, x, options_.temperature, options_.noise, m.channel_std,
                                  reduction_of(kind_)));
      else
        out.push_back(mahalanobis_perturbed_scores(m.pooled_from_input, x, gaussian_, options_.noise, m.channel_std,
                                                   reduction_of(kind_)));
    }
    return torch::cat(out);
  }
  if (is_logit_score(kind_)) return compute_score(kind_, s.logits, lo);
  switch (kind_) {
    case ScoreKind::MahalanobisMax:
    case ScoreKind::MahalanobisSum: return mahalanobis_score(gaussian_, s.pooled, reduction_of(kind_));
    case ScoreKind::Lof: return lof_.score_samples(s.logits);
    case ScoreKind::IsolationForest: return isol_.score_samples(s.logits);
    case ScoreKind::Vim: return vim_score(vim_, s.hidden);
    case ScoreKind::React:
      return compute_score(parse_score(options_.react_aggregate), react_logits(m.head_from_pooled, s.pooled, react_clip_),
                           lo);
    case ScoreKind::Knn: return knn_score(knn_train_, s.pooled, options_.knn_k);
    case ScoreKind::GradNorm: return gradnorm_score(s.hidden, s.logits, options_.gradnorm_temperature);
    case ScoreKind::Kl: return kl_score(kl_, s.logits);
    default: break;
  }
  throw UsageError(fmt::format("score {} is not implemented", name_));
}

nlohmann::json Scorer::fit_summary() const {
  nlohmann::json j = nlohmann::json::object();
  switch (kind_) {
    case ScoreKind::EnergyTopK: j["topk"] = options_.topk; break;
    case ScoreKind::OdinMax:
    case ScoreKind::OdinSum: j["temperature"] = options_.temperature; j["noise"] = options_.noise; break;
    case ScoreKind::MahalanobisMax:
    case ScoreKind::MahalanobisSum:
      j["noise"] = options_.noise;
      j["dropped_eigenvalues"] = gaussian_.dropped_eigenvalues;
      break;
    case ScoreKind::Lof: j["n_neighbors"] = lof_.n_neighbors(); j["fit_on"] = "ID validation logits"; break;
    case ScoreKind::IsolationForest:
      j["n_estimators"] = options_.isol.n_estimators;
      j["max_samples"] = isol_.max_samples();
      j["seed"] = options_.isol.seed;
      j["fit_on"] = "ID validation logits";
      break;
    case ScoreKind::Vim: j["dim"] = vim_.dim; j["alpha"] = vim_.alpha; break;
    case ScoreKind::React:
      j["percentile"] = options_.react_percentile;
      j["clip"] = react_clip_;
      j["aggregate"] = options_.react_aggregate;
      break;
    case ScoreKind::Knn: j["k"] = options_.knn_k; break;
    case ScoreKind::GradNorm: j["temperature"] = options_.gradnorm_temperature; break;
    case ScoreKind::Kl: j["smoothing"] = options_.kl_smoothing; break;
    default: break;
  }
  return j;
}

}  // namespace edge::score
