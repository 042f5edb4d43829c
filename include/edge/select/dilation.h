// The dilation distance between two sets' feature spectra (EDGE-SPEC §7) and the ranking
// of candidate OE sets by it.
//
// For one batch of B images a backbone gives the raw feature matrix F [B, D] (pooled
// penultimate features, no centring, no normalisation); its singular values s_1 >= ... >=
// s_min(B,D) form the batch's spectrum. A set's spectrum is the mean of its batches'
// spectra. Between the ID set and an OE candidate
//     d = || S_id[:k] - S_oe[:k] ||_2,
// the Euclidean norm of the difference of the top-k mean singular values (= the Frobenius
// norm of the difference of the two k x k diagonal matrices). The reference (oe.py) sums
// the spectra into a [batch, oe_batch] matrix by broadcasting, so its S[:k] takes k
// identical rows and prints sqrt(k) * ||S_id - S_oe||_2 over all singular values: k only
// scales its number. Here k selects the singular values, as the paper's formula says.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace edge::select {

// Singular values of the feature matrix `features` [B, D] (any float dtype, any device),
// computed in float64 on the CPU: float64 [min(B, D)], descending.
torch::Tensor batch_singular_values(const torch::Tensor& features);

// || s_id[:k] - s_oe[:k] ||_2 for two spectra (1-D, descending). Throws UsageError naming
// --k when k < 1 or k exceeds either spectrum's length (a batch of B images with D-dim
// features has only min(B, D) singular values; k is never clamped silently).
double dilation_distance(const torch::Tensor& s_id, const torch::Tensor& s_oe, int64_t k);

// Which candidate the ranking puts first.
enum class SelectionRule {
  Smallest,  // the smallest distance: the OE set whose feature spectrum is closest to the ID set's
  Largest,   // the largest distance
};

// "smallest" | "largest"; throws UsageError naming --rule otherwise.
SelectionRule parse_selection_rule(const std::string& name);
std::string rule_name(SelectionRule rule);
// The rule in words, for reports.
std::string describe_rule(SelectionRule rule);

// 1-based rank of each candidate (rank 1 = selected) under `rule`; equal distances keep
// the candidates' order. Throws NumericError naming the position of a non-finite distance.
std::vector<int64_t> rank_by_distance(const std::vector<double>& distances, SelectionRule rule);

}  // namespace edge::select
