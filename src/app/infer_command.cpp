// `edge infer`: one forward pass in eval mode over a tensor from Python, written back
// for Python, so that anyone can compare this program's networks with PyTorch's.
#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "edge/app/commands.h"
#include "edge/common/error.h"
#include "edge/eval/trained_run.h"
#include "edge/model/backbone.h"
#include "edge/model/checkpoint.h"
#include "edge/model/torch_file.h"
#include "edge/train/train_config.h"

namespace edge::app {

namespace {

const std::vector<std::string> kFeatures = {"pooled", "map", "hidden", "logits"};

torch::Tensor read_input(const std::filesystem::path& file) {
  const c10::IValue value = model::load_torch_file(file);
  if (!value.isTensor())
    throw DataError(fmt::format("--input {}: expected a tensor saved with torch.save, got a {}", file.string(),
                                value.tagKind()));
  const torch::Tensor x = value.toTensor();
  if (x.dim() != 4 || !x.is_floating_point() || x.size(0) < 1)
    throw DataError(fmt::format("--input {}: expected a float NCHW tensor [B, C, H, W], got {} {}", file.string(),
                                c10::toString(x.scalar_type()), fmt::format("[{}]", fmt::join(x.sizes(), ", "))));
  return x.to(torch::kFloat32);
}

torch::Tensor select(const model::NetOutputs& o, const std::string& features) {
  if (features == "pooled") return o.pooled;
  if (features == "map") return o.feature_map;
  if (features == "hidden") return o.hidden;
  return o.logits;
}

}  // namespace

torch::Tensor run_infer(const InferParams& p, std::ostream& out) {
  if (p.pretrained.empty() == p.checkpoint.empty())
    throw UsageError("infer: give exactly one of --pretrained FILE.pth (with --arch) and --checkpoint RUN_DIR");
  if (p.input.empty()) throw UsageError("--input: a tensor file written by torch.save is required");
  if (p.output.empty()) throw UsageError("--output: the file to write is required");
  if (p.batch_size < 1) throw UsageError(fmt::format("--batch_size must be at least 1, got {}", p.batch_size));
  if (p.threads < 0) throw UsageError(fmt::format("--threads must be >= 0, got {}", p.threads));
  const std::string features = !p.features.empty() ? p.features : p.checkpoint.empty() ? "pooled" : "logits";
  if (std::find(kFeatures.begin(), kFeatures.end(), features) == kFeatures.end())
    throw UsageError(fmt::format("--features: expected pooled, map, hidden or logits, got '{}'", p.features));

  const torch::Tensor x = read_input(p.input);
  const int64_t n = p.threads > 0 ? p.threads : std::max<int64_t>(1, std::thread::hardware_concurrency());
  torch::set_num_threads(static_cast<int>(n));

  model::MultiLabelNet net{nullptr};
  if (!p.checkpoint.empty()) {
    eval::TrainedRun run = eval::open_trained_run(p.checkpoint);
    if (!p.arch.empty() && p.arch != run.config.model.arch)
      throw UsageError(fmt::format("--arch {} contradicts the run's architecture {} (drop --arch)", p.arch,
                                   run.config.model.arch));
    net = run.model;
  } else {
    if (p.arch.empty()) throw UsageError("--arch is required with --pretrained");
    model::ModelConfig config;
    config.arch = p.arch;
    config.in_channels = model::is_torchvision_arch(p.arch) ? 3 : x.size(1);
    config.pretrained = p.pretrained.string();
    torch::manual_seed(p.seed);
    net = model::build_model(config);
  }
  net->eval();

  torch::Tensor result;
  {
    torch::InferenceMode guard;
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < x.size(0); i += p.batch_size)
      parts.push_back(select(net->forward_all(x.slice(0, i, std::min(x.size(0), i + p.batch_size))), features));
    result = torch::cat(parts, 0).contiguous();
  }
  model::save_torch_file(result, p.output);
  out << fmt::format("wrote {}: {} [{}] ({}, eval mode, {} thread{})\n", p.output.string(), features,
                     fmt::join(result.sizes(), ", "), net->config().arch, n, n == 1 ? "" : "s");
  return result;
}

}  // namespace edge::app
