// The backbones' structure: torchvision's state_dict names and shapes (frozen in
// tests/fixtures/backbone_layouts.json by scripts/make_backbone_goldens.py), feature
// sizes, the gray-input rule and the model configuration.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"
#include "edge/model/backbone.h"
#include "edge/model/checkpoint.h"
#include "edge/model/compute_mode.h"
#include "edge/model/multilabel_net.h"
#include "support/test_support.h"

namespace {

using namespace edge::model;

ModelConfig config_for(const std::string& arch) {
  ModelConfig c;
  c.arch = arch;
  c.in_channels = arch == "small_resnet" ? 1 : 3;
  c.hidden = 32;
  c.num_classes = 5;
  return c;
}

const nlohmann::json& layouts() {
  static const nlohmann::json j =
      nlohmann::json::parse(edge::read_text_file(edge::test::fixtures_dir() / "backbone_layouts.json"));
  return j;
}

class TorchvisionLayout : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionLayout, StateDictNamesAndShapesAreTorchvisions) {
  const std::string arch = GetParam();
  torch::manual_seed(0);
  Backbone backbone = make_backbone(config_for(arch));
  const StateDict state = module_state(*backbone);
  const auto& expected = layouts().at(arch).at("backbone");
  std::vector<std::string> mismatches;
  size_t found = 0;
  for (const auto& row : expected) {
    const std::string key = row[0].get<std::string>();
    const auto shape = row[1].get<std::vector<int64_t>>();
    const auto it = state.find(key);
    if (it == state.end()) {
      mismatches.push_back("missing " + key);
    } else {
      ++found;
      if (it->second.sizes().vec() != shape) mismatches.push_back("shape of " + key);
    }
  }
  EXPECT_EQ(found, expected.size());
  EXPECT_EQ(state.size(), expected.size()) << "the C++ backbone has extra entries";
  EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " mismatches, first: " << mismatches.front();
  // The classifier keys the loader ignores are exactly torchvision's classifier.
  for (const auto& row : layouts().at(arch).at("classifier")) {
    const std::string key = row[0].get<std::string>();
    const auto prefixes = backbone->classifier_prefixes();
    EXPECT_TRUE(std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return key.rfind(p, 0) == 0; }))
        << key;
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, TorchvisionLayout,
                         ::testing::Values("resnet18", "resnet34", "resnet50", "resnet101", "densenet121", "mobilenet_v2"));

TEST(Backbones, FeatureSizesAndAllOutputs) {
  const std::map<std::string, int64_t> dims = {{"small_resnet", 128}, {"resnet18", 512},    {"resnet34", 512},
                                               {"resnet50", 2048},    {"resnet101", 2048},  {"densenet121", 1024},
                                               {"mobilenet_v2", 1280}};
  ASSERT_EQ(architectures().size(), dims.size());
  torch::NoGradGuard no_grad;
  for (const auto& arch : architectures()) {
    SCOPED_TRACE(arch);
    torch::manual_seed(1);
    MultiLabelNet net(config_for(arch));
    net->eval();
    EXPECT_EQ(net->backbone()->out_channels(), dims.at(arch));
    EXPECT_EQ(is_torchvision_arch(arch), arch != "small_resnet");
    const int64_t size = 64;
    const auto o = net->forward_all(torch::randn({2, config_for(arch).in_channels, size, size}));
    const int64_t side = arch == "small_resnet" ? size / 16 : size / 32;  // stem stride 2, 3 stages
    EXPECT_EQ(o.feature_map.sizes(), (std::vector<int64_t>{2, dims.at(arch), side, side}));
    EXPECT_EQ(o.pooled.sizes(), (std::vector<int64_t>{2, dims.at(arch)}));
    EXPECT_TRUE(torch::allclose(o.pooled, o.feature_map.mean({2, 3})));
    EXPECT_EQ(o.hidden.sizes(), (std::vector<int64_t>{2, 32}));
    EXPECT_EQ(o.logits.sizes(), (std::vector<int64_t>{2, 5}));
    EXPECT_EQ(net->forward(torch::zeros({1, config_for(arch).in_channels, size, size})).sizes(),
              (std::vector<int64_t>{1, 5}));
    // State-dict names of the whole model: backbone.<torchvision key>, clsfier.<head key>.
    const StateDict state = module_state(*net);
    EXPECT_TRUE(state.count("clsfier.way1.0.weight"));
    EXPECT_TRUE(state.count(arch == "densenet121" ? "backbone.features.conv0.weight"
                            : arch == "mobilenet_v2" ? "backbone.features.0.0.weight"
                                                     : "backbone.conv1.weight"));
  }
}

// --precision bf16 (and `auto` on a CPU with native bf16) trains every architecture: each op
// of its forward and backward has a CPU bf16 kernel (LibTorch 1.13 has none for ReLU6's
// hardtanh backward, which mobilenet_v2 therefore routes around).
TEST(Backbones, EveryArchitectureTrainsUnderBf16Autocast) {
  EDGE_SKIP_IF_BF16_CONVOLUTIONS_UNAVAILABLE();
  for (const auto& arch : architectures()) {
    SCOPED_TRACE(arch);
    torch::manual_seed(2);
    MultiLabelNet net(config_for(arch));
    net->train();
    torch::Tensor loss;
    {
      edge::model::AutocastScope autocast(true);
      loss = net->forward(torch::randn({2, config_for(arch).in_channels, 32, 32})).to(torch::kFloat).square().mean();
    }
    loss.backward();
    for (const auto& p : net->parameters()) {
      ASSERT_TRUE(p.grad().defined());
      EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
    }
  }
}

TEST(Backbones, GrayInputIsRepeatedToRgb) {
  torch::manual_seed(2);
  MultiLabelNet net(config_for("resnet18"));
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor gray = torch::randn({2, 1, 64, 64});
  EXPECT_TRUE(torch::allclose(net->forward(gray), net->forward(gray.repeat({1, 3, 1, 1})), 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(match_input_channels(gray, 3), gray.repeat({1, 3, 1, 1})));
  EXPECT_TRUE(torch::equal(match_input_channels(gray, 1), gray));
  try {
    net->forward(torch::randn({2, 2, 64, 64}));
    FAIL() << "2-channel input must be rejected";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 2, 64, 64]"), std::string::npos) << e.what();
  }
  // small_resnet built for gray rejects RGB rather than guessing.
  MultiLabelNet small(config_for("small_resnet"));
  EXPECT_THROW(small->forward(torch::randn({1, 3, 56, 56})), c10::Error);
}

TEST(Backbones, ImageNetNormalisation) {
  const torch::Tensor px = torch::full({1, 1, 2, 2}, 0.5);
  const torch::Tensor n = imagenet_normalize(px);
  ASSERT_EQ(n.sizes(), (std::vector<int64_t>{1, 3, 2, 2}));
  for (int c = 0; c < 3; ++c)
    EXPECT_NEAR(n[0][c][0][0].item<double>(), (0.5 - kImageNetMean[c]) / kImageNetStd[c], 1e-6);
}

TEST(Backbones, BadArchitecturesAreUsageErrors) {
  ModelConfig c = config_for("resnet152");
  try {
    make_backbone(c);
    FAIL();
  } catch (const edge::UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--arch"), std::string::npos) << msg;
    EXPECT_NE(msg.find("resnet152"), std::string::npos) << msg;
    EXPECT_NE(msg.find("densenet121"), std::string::npos) << msg;
  }
  c = config_for("resnet18");
  c.in_channels = 2;
  EXPECT_THROW(make_backbone(c), edge::UsageError);
  c.in_channels = 1;  // gray data into an RGB backbone: allowed, the backbone stays RGB
  EXPECT_EQ(make_backbone(c)->in_channels(), 3);
}

TEST(ModelConfigJson, OldConfigsLoadAndNewKeysRoundTrip) {
  const auto old = nlohmann::json::parse(R"({"arch":"small_resnet","in_channels":1,"width":8,"blocks_per_stage":1,
                                             "stem_stride":2,"hidden":64,"num_classes":8})");
  const ModelConfig c = old.get<ModelConfig>();
  EXPECT_EQ(c.width, 8);
  EXPECT_EQ(c.pretrained, "");
  ModelConfig d = config_for("densenet121");
  d.pretrained = "/w/densenet121.pth";
  const ModelConfig e = nlohmann::json(d).get<ModelConfig>();
  EXPECT_EQ(e.arch, "densenet121");
  EXPECT_EQ(e.pretrained, "/w/densenet121.pth");
  EXPECT_EQ(e.hidden, 32);
}

TEST(Backbones, SmallResNetKeepsItsTrainingBehaviour) {
  // The default fashion-lt model: same names as before the backbone refactor.
  ModelConfig c;
  torch::manual_seed(3);
  MultiLabelNet net(c);
  const StateDict s = module_state(*net);
  EXPECT_TRUE(s.count("backbone.layer1.0.downsample.0.weight"));
  EXPECT_TRUE(s.count("backbone.layer3.0.bn2.running_var"));
  EXPECT_EQ(s.at("backbone.conv1.weight").sizes(), (std::vector<int64_t>{16, 1, 3, 3}));
  net->train();
  const torch::Tensor loss = net->forward(torch::randn({4, 1, 56, 56})).square().mean();
  loss.backward();
  EXPECT_TRUE(s.at("backbone.conv1.weight").grad().defined());
}

}  // namespace
