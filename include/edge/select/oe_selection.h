// OE dataset selection by dilation distance (EDGE-SPEC §7): batch feature spectra of the
// ID set and of each candidate OE set, and the ranking of the candidates.
//
// Batches (as the reference oe.py's DataLoader(shuffle=True) zipped with the OE loader):
// a set's images are shuffled (seeded: shuffled_indices(seed, stream)) and cut into batches;
// the incomplete last batch is DROPPED, because a smaller batch has fewer and smaller
// singular values and would bias the mean (the reference's broadcasting fails on it). A
// candidate is compared over n = min(ID batches, its batches) batch pairs, the ID mean
// taken over the ID set's first n batches, as zip() pairs them in the reference; every
// set's batches depend only on (seed, the set's spec), never on the other candidates.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <torch/types.h>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/select/dilation.h"

namespace edge::select {

// Image batch float [B, C, H, W] (as the transform made it) -> feature matrix [B, D].
using FeatureFn = std::function<torch::Tensor(const torch::Tensor& images)>;

struct BatchPlanOptions {
  int64_t batch_size = 64;   // images per batch (>= 1)
  int64_t max_batches = 0;   // at most this many batches per set; 0 = every full batch
  uint64_t seed = 0;         // shuffles the order and seeds random transforms
};

// The random stream of the set named `spec` (64-bit FNV-1a of the text), so that a set's
// batches never depend on its position in the candidate list.
uint64_t set_stream(const std::string& spec);

// The dataset indices of each batch a set of `set_size` images contributes: a seeded
// shuffle cut into full batches (the last incomplete one dropped), at most max_batches.
std::vector<std::vector<int64_t>> selection_plan(int64_t set_size, const BatchPlanOptions& options, uint64_t stream);

// One set's per-batch spectra.
struct SetSpectra {
  std::string name;                    // the spec as given (NAME[:PATH])
  int64_t images = 0;                  // images in the set (split train)
  int64_t batch_size = 0;
  int64_t feature_dim = 0;             // D
  int64_t corrupt = 0;                 // corrupt image slots (each replaced by the next image)
  std::vector<torch::Tensor> batches;  // float64 [min(B, D)] each, descending

  int64_t images_used() const { return batch_size * static_cast<int64_t>(batches.size()); }
};

// Reads the batches of selection_plan(set.size(), options, set_stream(name)) through the
// input pipeline (`workers` threads, `transform` drawn from SampleRng(seed, stream, 0, slot);
// a corrupt image is reported once on `warnings` and its slot takes the next image, so
// batches stay full), computes `features` on each and keeps its singular values. Throws
// DataError naming the set if it holds fewer images than one batch.
SetSpectra collect_spectra(const data::Dataset& set, const std::string& name, const data::Transform& transform,
                           const FeatureFn& features, const BatchPlanOptions& options, int64_t workers,
                           std::ostream* warnings);

// Mean of the first n batch spectra: float64 [min(B, D)].
torch::Tensor mean_spectrum(const SetSpectra& spectra, int64_t n);

struct CandidateResult {
  std::string name;
  int64_t images = 0;        // images in the candidate set
  int64_t batches = 0;       // batch pairs compared (ID and candidate)
  int64_t images_used = 0;   // candidate images in those batches
  double distance = 0.0;     // d = || S_id[:k] - S_oe[:k] ||_2
  int64_t rank = 0;          // 1 = selected
  std::vector<double> top_k;     // the candidate's mean top-k singular values
  std::vector<double> id_top_k;  // the ID set's over the same number of batches
};

struct SelectionResult {
  int64_t k = 0;
  SelectionRule rule = SelectionRule::Smallest;
  std::vector<CandidateResult> candidates;  // in the order given
  std::string selected;                     // the rank-1 candidate's name
};

// Distances and ranks of `candidates` against `id` (zip pairing, see above). Throws
// UsageError naming --k when k exceeds a spectrum's length, NumericError for a non-finite
// distance.
SelectionResult rank_candidates(const SetSpectra& id, const std::vector<SetSpectra>& candidates, int64_t k,
                                SelectionRule rule);

}  // namespace edge::select
