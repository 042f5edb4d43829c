#include "support/tiny_runs.h"

#include <torch/torch.h>

#include "edge/model/backbone.h"
#include "edge/model/checkpoint.h"
#include "edge/model/torch_file.h"

namespace edge::test {

std::vector<std::string> tiny_train_args(const std::filesystem::path& out, const std::string& score) {
  return {"train", "--score", score, "--n_epoch", "2", "--start_epoch", "1", "--id_train", "256", "--id_val", "64",
          "--id_test", "128", "--oe_train", "256", "--ood_test", "64", "--batch_size", "64", "--oe_batch_size",
          "64", "--k", "16", "--hidden", "64", "--width", "8", "--out", out.string()};
}

std::filesystem::path write_resnet18_weights(const std::filesystem::path& dir) {
  model::ModelConfig c;
  c.arch = "resnet18";
  c.in_channels = 3;
  torch::manual_seed(21);
  model::Backbone b = model::make_backbone(c);
  c10::Dict<std::string, at::Tensor> d;
  for (const auto& [k, v] : model::module_state(*b)) d.insert(k, v.detach());
  d.insert("fc.weight", torch::zeros({1000, 512}));
  d.insert("fc.bias", torch::zeros({1000}));
  const std::filesystem::path file = dir / "r18.pth";
  model::save_torch_file(c10::IValue(d), file);
  return file;
}

}  // namespace edge::test
