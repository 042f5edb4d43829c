// `edge select-oe`: ranks candidate OE sets by their dilation distance to the ID set
// (EDGE-SPEC §7) with an ImageNet-pretrained backbone's pooled features.
#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "edge/common/device.h"
#include "edge/common/error.h"
#include "edge/data/registry.h"
#include "edge/model/backbone.h"
#include "edge/model/checkpoint.h"
#include "edge/model/clssimp.h"

namespace edge::app {

namespace {

void check_params(const SelectOeParams& p) {
  if (p.dataset.empty()) throw UsageError("--dataset: the ID set NAME[:PATH] is required");
  if (p.candidates.empty()) throw UsageError("--candidates: at least one candidate OE set NAME[:PATH] is required");
  std::set<std::string> seen;
  for (const auto& c : p.candidates)
    if (!seen.insert(c).second) throw UsageError(fmt::format("--candidates: '{}' is listed twice", c));
  if (p.arch.empty()) throw UsageError("--arch is required (a torchvision architecture, e.g. mobilenet_v2)");
  if (!model::is_torchvision_arch(p.arch))
    throw UsageError(fmt::format("--arch {}: expected a torchvision architecture with ImageNet weights ({})", p.arch,
                                 "resnet18|resnet34|resnet50|resnet101|densenet121|mobilenet_v2"));
  if (p.pretrained.empty()) throw UsageError("--pretrained: the torchvision ImageNet weights (.pth) are required");
  if (p.batch_size < 1) throw UsageError(fmt::format("--batch_size must be at least 1, got {}", p.batch_size));
  if (p.oe_batch_size < 0) throw UsageError(fmt::format("--oe_batch_size must be at least 1, got {}", p.oe_batch_size));
  const int64_t oe_batch = p.oe_batch_size > 0 ? p.oe_batch_size : p.batch_size;
  if (p.k < 1) throw UsageError(fmt::format("--k must be at least 1, got {}", p.k));
  if (p.k > std::min(p.batch_size, oe_batch))
    throw UsageError(fmt::format("--k {} exceeds the batch size {}: a batch of B images has at most B singular values",
                                 p.k, std::min(p.batch_size, oe_batch)));
  if (p.max_batches < 0) throw UsageError(fmt::format("--max_batches must be >= 0, got {}", p.max_batches));
  if (p.image_size < 32) throw UsageError(fmt::format("--image_size must be at least 32, got {}", p.image_size));
  if (p.workers < 0) throw UsageError(fmt::format("--workers must be >= 0, got {}", p.workers));
  if (p.threads < 0) throw UsageError(fmt::format("--threads must be >= 0, got {}", p.threads));
  if (p.transform != "train" && p.transform != "eval")
    throw UsageError(fmt::format("--transform: expected train or eval, got '{}'", p.transform));
  select::parse_selection_rule(p.rule);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

nlohmann::json to_json(const SelectOeParams& p, const select::SetSpectra& id, const select::SelectionResult& r,
                       int64_t feature_dim, int64_t oe_batch) {
  nlohmann::json cands = nlohmann::json::array();
  for (const auto& c : r.candidates)
    cands.push_back({{"name", c.name}, {"images", c.images}, {"batches", c.batches}, {"images_used", c.images_used},
                     {"distance", c.distance}, {"rank", c.rank}, {"top_k", c.top_k}, {"id_top_k", c.id_top_k}});
  return {{"id", {{"name", id.name}, {"images", id.images}, {"batches", id.batches.size()},
                  {"images_used", id.images_used()}}},
          {"candidates", cands},
          {"selected", r.selected},
          {"rule", select::rule_name(r.rule)},
          {"rule_text", select::describe_rule(r.rule)},
          {"k", r.k},
          {"arch", p.arch},
          {"pretrained", p.pretrained.string()},
          {"feature_dim", feature_dim},
          {"batch_size", p.batch_size},
          {"oe_batch_size", oe_batch},
          {"max_batches", p.max_batches},
          {"transform", p.transform},
          {"image_size", p.image_size},
          {"seed", p.seed},
          {"data_root", p.data_root.string()},
          {"last_batch", "incomplete last batch dropped"},
          {"bn_mode", "eval (running statistics)"}};
}

}  // namespace

select::SelectionResult run_select_oe(const SelectOeParams& p, std::ostream& out) {
  check_params(p);
  const select::SelectionRule rule = select::parse_selection_rule(p.rule);
  const int64_t oe_batch = p.oe_batch_size > 0 ? p.oe_batch_size : p.batch_size;
  // Every name is checked before any image is read, so a typo costs nothing.
  const data::DatasetSpec id_spec = data::parse_dataset_spec(p.dataset, "--dataset");
  std::vector<data::DatasetSpec> cand_specs;
  for (const auto& c : p.candidates) cand_specs.push_back(data::parse_dataset_spec(c, "--candidates"));
  if (!std::filesystem::is_regular_file(p.pretrained))
    throw DataError(fmt::format("--pretrained {}: file not found (expected a torchvision state_dict .pth)",
                                p.pretrained.string()));
  const torch::Device device = resolve_device(p.device);

  const data::Dataset id_set = data::open_dataset(id_spec, p.data_root, "train", "--dataset");
  std::vector<data::Dataset> cand_sets;
  for (const auto& s : cand_specs) cand_sets.push_back(data::open_dataset(s, p.data_root, "train", "--candidates"));

  const int64_t threads = p.threads > 0 ? p.threads : std::max<int64_t>(1, std::thread::hardware_concurrency());
  torch::set_num_threads(static_cast<int>(threads));
  model::ModelConfig config;
  config.arch = p.arch;
  config.in_channels = 3;
  model::Backbone backbone = model::make_backbone(config);
  model::load_pretrained_backbone(backbone, p.pretrained, p.arch);
  backbone->to(device);
  // Eval mode: the pretrained BatchNorm statistics, so a set's features do not depend on the
  // other images of its batch (the reference leaves the network in training mode and
  // normalises each [ID; OE] batch pair with its own statistics).
  backbone->eval();
  const int64_t feature_dim = backbone->out_channels();
  if (p.k > feature_dim)
    throw UsageError(fmt::format("--k {} exceeds the feature dimension D = {} of {}: a batch has at most min(B, D) "
                                 "singular values", p.k, feature_dim, p.arch));
  const select::FeatureFn features = [&](const torch::Tensor& images) {
    return model::ClsSimpImpl::pool(backbone->forward(images.to(device))).to(torch::kCPU);
  };
  const data::Transform transform = data::transform_preset(p.transform, p.image_size);

  out << fmt::format("select-oe: {} pretrained {} (pooled features, D = {}, eval mode) on {}, {} thread{}\n", p.arch,
                     p.pretrained.string(), feature_dim, device.str(), threads, threads == 1 ? "" : "s");
  out << fmt::format("transform: {} ({}x{}), seed {}; batches: ID {}, OE {}, shuffled, incomplete last batch "
                     "dropped{}\n",
                     p.transform, p.image_size, p.image_size, p.seed, p.batch_size, oe_batch,
                     p.max_batches > 0 ? fmt::format(", at most {} per set", p.max_batches) : "");
  select::BatchPlanOptions id_plan{p.batch_size, p.max_batches, p.seed};
  select::BatchPlanOptions oe_plan{oe_batch, p.max_batches, p.seed};
  auto t0 = std::chrono::steady_clock::now();
  const select::SetSpectra id =
      select::collect_spectra(id_set, p.dataset, transform, features, id_plan, p.workers, &out);
  out << fmt::format("  ID  {}: {} images, {} batches of {} ({:.1f} s)\n", p.dataset, id.images, id.batches.size(),
                     p.batch_size, seconds_since(t0));
  std::vector<select::SetSpectra> cands;
  for (size_t i = 0; i < cand_sets.size(); ++i) {
    t0 = std::chrono::steady_clock::now();
    cands.push_back(
        select::collect_spectra(cand_sets[i], p.candidates[i], transform, features, oe_plan, p.workers, &out));
    out << fmt::format("  OE  {}: {} images, {} batches of {} ({:.1f} s)\n", p.candidates[i], cands.back().images,
                       cands.back().batches.size(), oe_batch, seconds_since(t0));
  }
  const select::SelectionResult result = select::rank_candidates(id, cands, p.k, rule);

  size_t width = 9;
  for (const auto& c : result.candidates) width = std::max(width, c.name.size());
  out << fmt::format("\ndilation distance d = || S_id[:k] - S_oe[:k] ||_2, k = {}, ID set {}\n", p.k, p.dataset);
  out << fmt::format("{:>4}  {:<{}}  {:>11}  {:>11}  {:>14}\n", "rank", "candidate", width, "images used",
                     "batch pairs", "d");
  std::vector<const select::CandidateResult*> by_rank;
  for (const auto& c : result.candidates) by_rank.push_back(&c);
  std::sort(by_rank.begin(), by_rank.end(), [](auto* a, auto* b) { return a->rank < b->rank; });
  for (const auto* c : by_rank)
    out << fmt::format("{:>4}  {:<{}}  {:>11}  {:>11}  {:>14.6f}\n", c->rank, c->name, width, c->images_used,
                       c->batches, c->distance);
  out << fmt::format("rule: {}\nselected: {}\n", select::describe_rule(rule), result.selected);
  if (!p.out.empty()) {
    write_text_atomically(p.out, to_json(p, id, result, feature_dim, oe_batch).dump(2) + "\n");
    out << fmt::format("wrote {}\n", p.out.string());
  }
  return result;
}

}  // namespace edge::app
