// OOD scores of spec §5 and their names.
//
// Sign convention (every score in include/edge/score): HIGHER = MORE IN-DISTRIBUTION.
// Scores whose natural form is a distance or an anomaly degree are negated (Mahalanobis,
// KNN, LOF, isolation forest, ViM's residual, KL).
//
// This header holds the scores that need nothing but the logits of the scored sample;
// the others (fitted on training / validation data, or needing the model) are in the
// sibling headers and dispatched by scorer.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace edge::score {

enum class ScoreKind {
  EnergySum,       // JointEnergy: sum_c softplus(z_c)
  EnergyMax,       // max_c softplus(z_c)
  EnergyTopK,      // sum of the k largest softplus(z_c) (the reference uses k = 1)
  MaxLogit,        // max_c z_c
  LogitSum,        // sum_c z_c
  ProbMax,         // max_c sigmoid(z_c)
  ProbSum,         // sum_c sigmoid(z_c)
  Msp,             // max_c softmax(z)_c
  EnergyMC,        // logsumexp_c z_c
  OdinMax,         // max_c sigmoid(z_c(x') / T), x' the ODIN-perturbed input
  OdinSum,         // sum_c sigmoid(z_c(x') / T)
  MahalanobisMax,  // max_c -(f - mu_c)' S^-1 (f - mu_c) / 2 on pooled features
  MahalanobisSum,  // sum_c of the same
  Lof,             // sklearn LocalOutlierFactor(novelty).score_samples on logits, fit on ID val
  IsolationForest, // sklearn IsolationForest.score_samples on logits, fit on ID val
  Vim,             // ViM on the head's hidden feature
  React,           // clip pooled features at an ID percentile, head, then a logit score
  Knn,             // -(k-th nearest training neighbour distance), L2-normalised pooled features
  GradNorm,        // L1 norm of d/dW_cls of sum_c -log softmax(z / T)_c, per sample
  Kl,              // -min_k KL(p(x) || q_k), q_k = label co-occurrence row of class k
};

// Canonical names (score_names()) and accepted aliases: energy / joint_energy = energy_sum,
// logit_max = max_logit, energymc / energy_MC = energy_mc, M_max / M_sum = mahalanobis_*,
// isolation_forest = isol. Throws UsageError naming --score_fn otherwise.
ScoreKind parse_score(const std::string& name);
std::string score_name(ScoreKind kind);
std::vector<std::string> score_names();

// True for the scores compute_score handles (a function of the sample's logits only).
bool is_logit_score(ScoreKind kind);

struct LogitScoreOptions {
  int64_t topk = 1;          // EnergyTopK's k (the reference's value is 1)
  double temperature = 1.0;  // ODIN's T (OdinMax / OdinSum without input noise)
};

// logits [N, C] -> scores [N] (float64). Throws UsageError for a score that is not a
// logit score (see is_logit_score). ODIN here is the noise-free form sigmoid(z / T).
torch::Tensor compute_score(ScoreKind kind, const torch::Tensor& logits, const LogitScoreOptions& options = {});

}  // namespace edge::score
