#include "edge/select/oe_selection.h"

#include <algorithm>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/data/loader.h"
#include "edge/data/sample_rng.h"

namespace edge::select {

uint64_t set_stream(const std::string& spec) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bit: the same value on every platform
  for (const unsigned char c : spec) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<std::vector<int64_t>> selection_plan(int64_t set_size, const BatchPlanOptions& options, uint64_t stream) {
  TORCH_CHECK(options.batch_size >= 1, "selection_plan: expected a batch size >= 1, got ", options.batch_size);
  TORCH_CHECK(options.max_batches >= 0, "selection_plan: expected max_batches >= 0, got ", options.max_batches);
  TORCH_CHECK(set_size >= 0, "selection_plan: expected a set size >= 0, got ", set_size);
  auto plan = data::make_batches(data::shuffled_indices(set_size, options.seed, stream, 0), options.batch_size,
                                 /*drop_last=*/true);
  if (options.max_batches > 0 && static_cast<int64_t>(plan.size()) > options.max_batches)
    plan.resize(static_cast<size_t>(options.max_batches));
  return plan;
}

SetSpectra collect_spectra(const data::Dataset& set, const std::string& name, const data::Transform& transform,
                           const FeatureFn& features, const BatchPlanOptions& options, int64_t workers,
                           std::ostream* warnings) {
  const uint64_t stream = set_stream(name);
  auto plan = selection_plan(set.size(), options, stream);
  if (plan.empty())
    throw DataError(fmt::format("{}: {} image{}, fewer than one batch of {} (lower the batch size)", name, set.size(),
                                set.size() == 1 ? "" : "s", options.batch_size));
  SetSpectra out;
  out.name = name;
  out.images = set.size();
  out.batch_size = options.batch_size;
  data::LoaderOptions lo;
  lo.workers = workers;
  lo.seed = options.seed;
  lo.stream = stream;
  lo.on_corrupt = data::CorruptPolicy::Replace;
  data::Loader loader(set, transform, lo, warnings);
  loader.start(0, std::move(plan));
  torch::NoGradGuard no_grad;
  while (auto batch = loader.next()) {
    const torch::Tensor f = features(batch->images);
    TORCH_CHECK(f.dim() == 2 && f.size(0) == batch->images.size(0), "collect_spectra: expected features [",
                batch->images.size(0), ", D] for ", name, ", got ", f.sizes());
    if (out.feature_dim == 0) out.feature_dim = f.size(1);
    out.batches.push_back(batch_singular_values(f));
  }
  out.corrupt = loader.corrupt_this_epoch();
  return out;
}

torch::Tensor mean_spectrum(const SetSpectra& spectra, int64_t n) {
  TORCH_CHECK(n >= 1 && n <= static_cast<int64_t>(spectra.batches.size()), "mean_spectrum: expected 1..",
              spectra.batches.size(), " batches of ", spectra.name, ", got ", n);
  return torch::stack(std::vector<torch::Tensor>(spectra.batches.begin(), spectra.batches.begin() + n)).mean(0);
}

namespace {
std::vector<double> head(const torch::Tensor& s, int64_t k) {
  const torch::Tensor t = s.slice(0, 0, k).contiguous();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}
}  // namespace

SelectionResult rank_candidates(const SetSpectra& id, const std::vector<SetSpectra>& candidates, int64_t k,
                                SelectionRule rule) {
  TORCH_CHECK(!id.batches.empty(), "rank_candidates: the ID set ", id.name, " has no batch");
  TORCH_CHECK(!candidates.empty(), "rank_candidates: expected at least one candidate");
  SelectionResult result;
  result.k = k;
  result.rule = rule;
  std::vector<double> distances;
  for (const SetSpectra& c : candidates) {
    TORCH_CHECK(!c.batches.empty(), "rank_candidates: candidate ", c.name, " has no batch");
    const int64_t n = std::min<int64_t>(id.batches.size(), c.batches.size());
    const torch::Tensor s_id = mean_spectrum(id, n), s_oe = mean_spectrum(c, n);
    CandidateResult r;
    r.name = c.name;
    r.images = c.images;
    r.batches = n;
    r.images_used = n * c.batch_size;
    r.distance = dilation_distance(s_id, s_oe, k);
    r.top_k = head(s_oe, k);
    r.id_top_k = head(s_id, k);
    distances.push_back(r.distance);
    result.candidates.push_back(std::move(r));
  }
  const std::vector<int64_t> ranks = rank_by_distance(distances, rule);
  for (size_t i = 0; i < ranks.size(); ++i) {
    result.candidates[i].rank = ranks[i];
    if (ranks[i] == 1) result.selected = result.candidates[i].name;
  }
  return result;
}

}  // namespace edge::select
