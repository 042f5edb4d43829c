// Strict state_dict loading (--pretrained and run checkpoints) and the torch.save reader.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/model/checkpoint.h"
#include "edge/model/densenet.h"
#include "edge/model/torch_file.h"
#include "support/test_support.h"

namespace {

using namespace edge::model;
using edge::test::error_message;
namespace fs = std::filesystem;

void save_dict(const StateDict& sd, const fs::path& file) {
  c10::Dict<std::string, at::Tensor> d;
  for (const auto& [k, v] : sd) d.insert(k, v);
  save_torch_file(c10::IValue(d), file);
}

// A torchvision-style resnet18 state_dict: the backbone's entries plus an `fc` classifier.
StateDict torchvision_resnet18_state() {
  ModelConfig c;
  c.arch = "resnet18";
  c.in_channels = 3;
  Backbone b = make_backbone(c);
  StateDict sd;
  for (const auto& [k, v] : module_state(*b)) sd.emplace(k, v.detach().clone());
  sd.emplace("fc.weight", torch::zeros({1000, 512}));
  sd.emplace("fc.bias", torch::zeros({1000}));
  return sd;
}

TEST(StrictLoad, PretrainedBackboneLoadsAndIgnoresTheClassifier) {
  edge::test::TempDir dir;
  torch::manual_seed(5);
  StateDict sd = torchvision_resnet18_state();
  sd.at("layer4.1.bn2.running_var").fill_(3.5);
  sd.at("conv1.weight").fill_(0.25);
  save_dict(sd, dir.path() / "r18.pth");
  ModelConfig c;
  c.arch = "resnet18";
  c.in_channels = 3;
  c.pretrained = (dir.path() / "r18.pth").string();
  torch::manual_seed(6);
  MultiLabelNet net = build_model(c);
  const StateDict got = module_state(*net);
  EXPECT_TRUE(torch::all(got.at("backbone.layer4.1.bn2.running_var") == 3.5).item<bool>());
  EXPECT_TRUE(torch::all(got.at("backbone.conv1.weight") == 0.25).item<bool>());
  // MultiLabelNet(config) alone never loads config.pretrained (checkpoints overwrite it anyway).
  torch::manual_seed(6);
  MultiLabelNet plain(c);
  EXPECT_FALSE(torch::all(module_state(*plain).at("backbone.conv1.weight") == 0.25).item<bool>());
}

// Weights holding NaN (a diverged or damaged file) are refused at load, naming the key and
// the count, and the model keeps its own weights.
TEST(StrictLoad, NonFiniteWeightsAreRefused) {
  edge::test::TempDir dir;
  StateDict sd = torchvision_resnet18_state();
  sd.at("layer2.0.conv1.weight").view(-1).slice(0, 0, 1000).fill_(std::nan(""));
  sd.at("layer2.0.conv1.weight").view(-1)[1000] = INFINITY;
  save_dict(sd, dir.path() / "nan.pth");
  ModelConfig c;
  c.arch = "resnet18";
  c.in_channels = 3;
  c.pretrained = (dir.path() / "nan.pth").string();
  const std::string msg = error_message([&] { build_model(c); });
  EXPECT_NE(msg.find("nan.pth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer2.0.conv1.weight holds 1001 non-finite values"), std::string::npos) << msg;
}

TEST(StrictLoad, MismatchesNameTheKeyAndBothShapes) {
  edge::test::TempDir dir;
  ModelConfig c;
  c.arch = "resnet18";
  c.in_channels = 3;
  Backbone b = make_backbone(c);
  const auto file = dir.path() / "bad.pth";

  StateDict sd = torchvision_resnet18_state();
  sd.erase("layer2.0.downsample.1.running_mean");
  save_dict(sd, file);
  std::string msg = error_message<edge::DataError>([&] { load_pretrained_backbone(b, file, "resnet18"); });
  EXPECT_NE(msg.find("missing key layer2.0.downsample.1.running_mean"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[128]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--pretrained " + file.string()), std::string::npos) << msg;

  sd = torchvision_resnet18_state();
  sd.emplace("layer5.0.conv1.weight", torch::zeros({3, 3}));
  save_dict(sd, file);
  msg = error_message<edge::DataError>([&] { load_pretrained_backbone(b, file, "resnet18"); });
  EXPECT_NE(msg.find("unexpected key layer5.0.conv1.weight"), std::string::npos) << msg;

  sd = torchvision_resnet18_state();
  sd.at("layer3.1.conv2.weight") = torch::zeros({256, 128, 3, 3});
  save_dict(sd, file);
  const torch::Tensor before = module_state(*b).at("layer1.0.conv1.weight").clone();
  msg = error_message<edge::DataError>([&] { load_pretrained_backbone(b, file, "resnet18"); });
  EXPECT_NE(msg.find("layer3.1.conv2.weight has shape [256, 128, 3, 3] in the file, [256, 256, 3, 3] in the model"),
            std::string::npos)
      << msg;
  EXPECT_TRUE(torch::equal(before, module_state(*b).at("layer1.0.conv1.weight"))) << "a failed load must not modify";

  // A resnet50 file into resnet18: many mismatches, the first one reported.
  msg = error_message<edge::DataError>([&] {
    ModelConfig c50 = c;
    c50.arch = "resnet50";
    Backbone b50 = make_backbone(c50);
    StateDict s50 = module_state(*b50);
    save_dict(s50, file);
    load_pretrained_backbone(b, file, "resnet18");
  });
  EXPECT_NE(msg.find("does not match the resnet18 backbone"), std::string::npos) << msg;
}

TEST(StrictLoad, OldFilesWithoutBatchCountersAndLegacyDenseNetNames) {
  edge::test::TempDir dir;
  // torchvision's older ResNet files have no num_batches_tracked: PyTorch's rule sets 0.
  StateDict sd = torchvision_resnet18_state();
  for (auto it = sd.begin(); it != sd.end();) it = it->first.find("num_batches_tracked") != std::string::npos ? sd.erase(it) : ++it;
  save_dict(sd, dir.path() / "old.pth");
  ModelConfig c;
  c.arch = "resnet18";
  c.in_channels = 3;
  Backbone b = make_backbone(c);
  EXPECT_NO_THROW(load_pretrained_backbone(b, dir.path() / "old.pth", "resnet18"));

  // DenseNet's download files spell "denselayer1.norm.1.weight"; torchvision renames on load.
  DenseNet dn(DenseNetOptions{});
  EXPECT_EQ(dn->canonical_key("features.denseblock1.denselayer1.norm.1.weight"),
            "features.denseblock1.denselayer1.norm1.weight");
  EXPECT_EQ(dn->canonical_key("features.denseblock4.denselayer16.conv.2.weight"),
            "features.denseblock4.denselayer16.conv2.weight");
  EXPECT_EQ(dn->canonical_key("features.transition1.norm.weight"), "features.transition1.norm.weight");
  c.arch = "densenet121";
  Backbone d = make_backbone(c);
  StateDict legacy;
  for (const auto& [k, v] : module_state(*d)) {
    std::string key = k;
    for (const char* part : {"norm", "conv"})
      for (const char* n : {"1", "2"}) {
        const std::string from = std::string(".") + part + n + ".", to = std::string(".") + part + "." + n + ".";
        const auto pos = key.find(from);
        if (key.find("denselayer") != std::string::npos && pos != std::string::npos) key.replace(pos, from.size(), to);
      }
    if (key.find("num_batches_tracked") == std::string::npos) legacy.emplace(key, v.detach().clone().fill_(0.5));
  }
  legacy.emplace("classifier.weight", torch::zeros({1000, 1024}));
  legacy.emplace("classifier.bias", torch::zeros({1000}));
  ASSERT_TRUE(legacy.count("features.denseblock2.denselayer3.norm.2.running_var"));
  save_dict(legacy, dir.path() / "dn.pth");
  load_pretrained_backbone(d, dir.path() / "dn.pth", "densenet121");
  EXPECT_TRUE(torch::all(module_state(*d).at("features.denseblock2.denselayer3.norm2.running_var") == 0.5).item<bool>());
}

TEST(StrictLoad, RunCheckpointsRoundTrip) {
  edge::test::TempDir dir;
  ModelConfig c;
  c.arch = "mobilenet_v2";
  c.in_channels = 3;
  c.hidden = 16;
  c.num_classes = 3;
  torch::manual_seed(9);
  MultiLabelNet a(c);
  save_weights(a, dir.path() / "model.pt");
  torch::manual_seed(10);
  MultiLabelNet b = load_weights(c, dir.path() / "model.pt");
  const StateDict sa = module_state(*a), sb = module_state(*b);
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [k, v] : sa) EXPECT_TRUE(torch::equal(v, sb.at(k))) << k;
  // The wrong architecture: a one-line error naming the file and the first key.
  c.arch = "resnet18";
  const std::string msg = error_message<edge::DataError>([&] { load_weights(c, dir.path() / "model.pt"); });
  EXPECT_NE(msg.find("does not match the configured model (resnet18"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(TorchFile, ReadsWhatPythonTorchSaveWrites) {
  if (!edge::test::python_has_modules("torch")) GTEST_SKIP() << "Debian python3-torch not installed";
  edge::test::TempDir dir;
  const std::string d = dir.path().string();
  edge::test::run_python(R"(
import collections, torch
d = ')" + d + R"('
torch.manual_seed(0)
a = torch.randn(4, 3)
sd = collections.OrderedDict([('w', a[:, 1]), ('b', torch.arange(5, dtype=torch.int64)), ('h', torch.ones(2, dtype=torch.float16))])
sd._metadata = collections.OrderedDict([('', {'version': 1})])
torch.save(sd, d + '/sd.pth')
torch.save({'epoch': 3, 'state_dict': sd, 'lr': 0.5, 'tags': ['a', None, True], 'shape': (1, 2)}, d + '/wrapped.pth')
torch.save(torch.nn.Parameter(torch.ones(2, 2)), d + '/param.pt')
torch.save(sd, d + '/legacy.pth', _use_new_zipfile_serialization=False)
torch.save(torch.nn.Linear(2, 2), d + '/module.pt')
torch.save(torch.tensor(-3.5, dtype=torch.float64), d + '/scalar.pt')
)");
  const StateDict sd = read_state_dict(dir.path() / "sd.pth");
  ASSERT_EQ(sd.size(), 3u);
  torch::manual_seed(0);
  const torch::Tensor a = torch::randn({4, 3});  // same generator as Python's
  EXPECT_TRUE(torch::equal(sd.at("w"), a.select(1, 1)));
  EXPECT_TRUE(torch::equal(sd.at("b"), torch::arange(5, torch::kInt64)));
  EXPECT_EQ(sd.at("h").scalar_type(), torch::kHalf);
  EXPECT_EQ(read_state_dict(dir.path() / "wrapped.pth").size(), 3u);
  const c10::IValue wrapped = load_torch_file(dir.path() / "wrapped.pth");
  EXPECT_EQ(wrapped.toGenericDict().at("epoch").toInt(), 3);
  EXPECT_DOUBLE_EQ(wrapped.toGenericDict().at("lr").toDouble(), 0.5);
  EXPECT_EQ(wrapped.toGenericDict().at("tags").toList().size(), 3u);
  EXPECT_TRUE(torch::equal(load_torch_file(dir.path() / "param.pt").toTensor(), torch::ones({2, 2})));
  EXPECT_EQ(load_torch_file(dir.path() / "scalar.pt").toTensor().item<double>(), -3.5);
  std::string msg = error_message<edge::DataError>([&] { load_torch_file(dir.path() / "legacy.pth"); });
  EXPECT_NE(msg.find("zip format"), std::string::npos) << msg;
  msg = error_message<edge::DataError>([&] { load_torch_file(dir.path() / "module.pt"); });
  EXPECT_NE(msg.find("torch.nn.modules.linear.Linear"), std::string::npos) << msg;
  EXPECT_NE(msg.find("module.pt"), std::string::npos) << msg;
  msg = error_message<edge::DataError>([&] { read_state_dict(dir.path() / "scalar.pt"); });
  EXPECT_NE(msg.find("expected a state_dict"), std::string::npos) << msg;
  msg = error_message<edge::DataError>([&] { load_torch_file(dir.path() / "nope.pt"); });
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
}

}  // namespace
