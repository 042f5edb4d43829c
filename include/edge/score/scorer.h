// One entry point for every OOD score of spec §5: what a score needs, fitting it on ID
// data, and scoring a set from its cached network outputs (or, for the input-perturbation
// scores, from its images). Higher = more in-distribution for every score.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "edge/score/isolation_forest.h"
#include "edge/score/kl_cooccurrence.h"
#include "edge/score/mahalanobis.h"
#include "edge/score/neighbors.h"
#include "edge/score/ood_scores.h"
#include "edge/score/vim.h"

namespace edge::score {

// The network outputs of one image set (what the evaluation caches).
struct SetFeatures {
  torch::Tensor pooled;  // pooled penultimate feature [N, D]
  torch::Tensor hidden;  // the head's hidden feature (input of its last Linear) [N, H]
  torch::Tensor logits;  // [N, C]
};

struct ScoreOptions {
  int64_t topk = 1;                  // energy_topk's k (reference: 1)
  double temperature = 1.0;          // ODIN T (reference --T, default 1)
  double noise = 0.0;                // ODIN / Mahalanobis input-perturbation magnitude (reference --noise)
  double mahalanobis_rcond = -1.0;   // eigenvalue floor of the pseudo-inverse; < 0: sklearn's D * eps
  int64_t knn_k = 50;
  int64_t lof_k = 20;
  IsolationForestOptions isol;
  double react_percentile = 90.0;
  std::string react_aggregate = "energy_mc";  // the logit score applied after clipping (reference: logsumexp)
  int64_t vim_dim = 0;               // 0: the reference's rule (vim_default_dim)
  double gradnorm_temperature = 1.0;
  double kl_smoothing = 1.0;
};

// Which inputs a score needs besides the scored set's own features.
struct ScoreNeeds {
  bool train_features = false;  // ID training set features (Mahalanobis, KNN, ViM, ReAct)
  bool train_labels = false;    // ID training labels (Mahalanobis, KL)
  bool val_logits = false;      // ID validation logits (LOF, isolation forest)
  bool head = false;            // the head's layers (ReAct, ViM)
  bool inputs = false;          // the images and a differentiable network (ODIN / Mahalanobis with noise)
};
ScoreNeeds score_needs(ScoreKind kind, const ScoreOptions& options);

// The model pieces some scores use.
struct ModelAccess {
  std::function<torch::Tensor(const torch::Tensor&)> head_from_pooled;  // pooled -> logits, eval mode
  torch::Tensor cls_weight, cls_bias;                                     // the head's last Linear
  std::function<torch::Tensor(const torch::Tensor&)> logits_from_input;   // normalised input -> logits
  std::function<torch::Tensor(const torch::Tensor&)> pooled_from_input;   // normalised input -> pooled
  std::vector<double> channel_std;                                        // input normalisation std
};

// A set's normalised input batches, for the perturbation scores.
struct InputBatches {
  int64_t count = 0;
  std::function<torch::Tensor(int64_t)> batch;  // i in [0, count) -> [B, ch, H, W]
};

struct FitData {
  SetFeatures train;          // ID training set (as needed)
  torch::Tensor train_labels;
  SetFeatures val;            // ID validation set (as needed)
};

class Scorer {
 public:
  Scorer(ScoreKind kind, ScoreOptions options);
  const std::string& name() const { return name_; }
  ScoreKind kind() const { return kind_; }
  ScoreNeeds needs() const { return score_needs(kind_, options_); }
  // Fits the score's ID statistics (no-op for logit scores).
  void fit(const FitData& data, const ModelAccess& model);
  // Scores one set: [N] float64. `inputs` is used only when needs().inputs.
  torch::Tensor score(const SetFeatures& set, const ModelAccess& model, const InputBatches* inputs = nullptr) const;
  // The fitted quantities worth reporting (thresholds, dimensions, ...).
  nlohmann::json fit_summary() const;

 private:
  ScoreKind kind_;
  ScoreOptions options_;
  std::string name_;
  bool fitted_ = false;
  GaussianFit gaussian_;
  torch::Tensor knn_train_;
  LocalOutlierFactor lof_;
  IsolationForest isol_;
  VimFit vim_;
  CooccurrenceTemplates kl_;
  double react_clip_ = 0;
};

}  // namespace edge::score
