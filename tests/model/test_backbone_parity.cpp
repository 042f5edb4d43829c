// Numerical parity of the C++ backbones with torchvision (Debian's python3-torchvision).
//
// Live (skipped cleanly without python3-torch / python3-torchvision): Python builds
// torchvision's model with the deterministic weights of scripts/make_backbone_goldens.py,
// writes its state_dict (.pth, torchvision classifier included) and the expected
// feature maps; C++ loads the .pth through --pretrained's strict loader and compares.
// Frozen (always): C++ generates the same weights itself and compares with the pooled
// features frozen in tests/fixtures/backbone_parity.pt by that script.
// Criterion: max |delta| <= 1e-4 * max |feature|, batch 2, sizes 64 and 224, eval mode.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <regex>
#include <sstream>

#include <torch/torch.h>

#include "edge/model/checkpoint.h"
#include "edge/model/multilabel_net.h"
#include "edge/model/torch_file.h"
#include "support/test_support.h"

namespace {

using namespace edge::model;
namespace fs = std::filesystem;

constexpr double kTolerance = 1e-4;
constexpr int64_t kWeightSeed = 1234, kInputSeed = 777;  // as in make_backbone_goldens.py
const std::vector<int64_t> kSizes = {64, 224};

ModelConfig config_for(const std::string& arch) {
  ModelConfig c;
  c.arch = arch;
  c.in_channels = arch == "small_resnet" ? 1 : 3;
  c.hidden = 16;
  c.num_classes = 4;
  return c;
}

// max |a - b| / max |b|
double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>() / std::max(1e-30, b.abs().max().item<double>());
}

// The Python side's marker line "RESULT <json>" (run_python merges stderr into stdout).
nlohmann::json python_result(const std::string& out) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("RESULT ", 0) == 0) return nlohmann::json::parse(line.substr(7));
  ADD_FAILURE() << "no RESULT line in the Python output:\n" << out;
  return {};
}

// One intra-op thread on both sides: results do not depend on it, and on a busy 2-core
// machine OpenMP's barriers make 2 threads up to 50x slower than 1.
class OneThread {
 public:
  OneThread() : saved_(torch::get_num_threads()) { torch::set_num_threads(1); }
  ~OneThread() { torch::set_num_threads(saved_); }

 private:
  int saved_;
};

bool have_torchvision() { return edge::test::python_has_modules("torch,torchvision"); }

std::string script_head(const fs::path& dir) {
  return "import sys, json, torch\nsys.path.insert(0, '" + std::string(EDGE_SOURCE_DIR) +
         "/scripts')\nimport make_backbone_goldens as ref\ntorch.set_num_threads(1)\nd = '" + dir.string() + "'\n";
}

// ---- the deterministic weights of make_backbone_goldens.fill_weights, in C++ ----

bool residual_branch_end(const StateDict& keys, const std::string& key) {
  static const std::regex resnet(R"(^(layer\d+\.\d+)\.bn([23])\.weight$)");
  static const std::regex mobilenet(R"(^features\.\d+\.conv\.\d+\.weight$)");
  std::smatch m;
  if (std::regex_match(key, m, resnet)) return m[2].str() == (keys.count(m[1].str() + ".bn3.weight") ? "3" : "2");
  return std::regex_match(key, mobilenet);
}

void fill_weights(Backbone& backbone) {
  torch::NoGradGuard no_grad;
  const StateDict state = module_state(*backbone);  // sorted by key, as Python's sorted()
  int64_t i = 0;
  for (const auto& [key, t] : state) {
    const int64_t index = i++;
    if (key.size() >= 19 && key.compare(key.size() - 19, 19, "num_batches_tracked") == 0) {
      t.zero_();
      continue;
    }
    torch::manual_seed(kWeightSeed + index);
    const torch::Tensor r = torch::randn(t.sizes());
    if (t.dim() >= 2) {
      t.copy_(r * std::sqrt(2.0 / static_cast<double>(t[0].numel())));
    } else if (key.find("running_var") != std::string::npos) {
      t.copy_(torch::exp(r * 0.2));
    } else if (key.size() > 7 && key.compare(key.size() - 7, 7, ".weight") == 0) {
      t.copy_((r * 0.1 + 1.0) * (residual_branch_end(state, key) ? 0.2 : 1.0));
    } else {
      t.copy_(r * 0.1);
    }
  }
}

torch::Tensor make_input(const std::string& arch, int64_t size) {
  torch::manual_seed(kInputSeed + size);
  return torch::randn({2, config_for(arch).in_channels, size, size});
}

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, EvalFeaturesMatchTorchvisionLive) {
  if (!have_torchvision()) GTEST_SKIP() << "Debian python3-torch / python3-torchvision not installed";
  const std::string arch = GetParam();
  OneThread one_thread;
  edge::test::TempDir dir;
  const auto t0 = std::chrono::steady_clock::now();
  edge::test::run_python(script_head(dir.path()) + "arch = '" + arch + R"('
m = ref.fill_weights(ref.build(arch), arch).eval()
torch.save(m.state_dict(), d + '/w.pth')
for size in ref.SIZES:
    x = ref.make_input(arch, size)
    with torch.no_grad():
        fm = ref.feature_map(m, arch, x)
    torch.save(x, d + '/x%d.pt' % size)
    torch.save(fm, d + '/fm%d.pt' % size)
print('RESULT {}')
)");
  const double python_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ModelConfig c = config_for(arch);
  c.pretrained = (dir.path() / "w.pth").string();
  MultiLabelNet net = build_model(c);  // the strict --pretrained loader: names and shapes must match
  net->eval();
  torch::NoGradGuard no_grad;
  for (const int64_t size : kSizes) {
    const torch::Tensor x = load_torch_file(dir.path() / ("x" + std::to_string(size) + ".pt")).toTensor();
    const torch::Tensor fm = load_torch_file(dir.path() / ("fm" + std::to_string(size) + ".pt")).toTensor();
    const NetOutputs o = net->forward_all(x);
    const double pooled = rel_diff(o.pooled, fm.mean({2, 3}));
    const double map = rel_diff(o.feature_map, fm);
    std::cout << "[parity live] " << arch << " @" << size << ": pooled max|d|/max|f| = " << pooled
              << ", map " << map << ", max|pooled| " << fm.mean({2, 3}).abs().max().item<double>() << "\n";
    EXPECT_LE(pooled, kTolerance) << arch << " @" << size;
    EXPECT_LE(map, kTolerance) << arch << " @" << size;
  }
  std::cout << "[parity live] " << arch << ": python side " << python_s << " s\n";
}

TEST_P(Parity, EvalFeaturesMatchFrozenTorchvisionGoldens) {
  const std::string arch = GetParam();
  OneThread one_thread;
  const auto goldens = load_torch_file(edge::test::fixtures_dir() / "backbone_parity.pt").toGenericDict();
  auto golden = [&](const std::string& key) { return goldens.at(c10::IValue(key)).toTensor(); };
  torch::manual_seed(0);
  MultiLabelNet net(config_for(arch));
  fill_weights(net->backbone());
  const StateDict state = module_state(*net->backbone());
  if (!torch::equal(state.begin()->second.flatten().slice(0, 0, 16), golden("weight_head/" + arch)) ||
      !torch::equal(make_input(arch, 64).flatten().slice(0, 0, 16), golden("input_head/" + arch + "/64")))
    GTEST_SKIP() << "this LibTorch's random stream differs from the one that froze the goldens";
  net->eval();
  torch::NoGradGuard no_grad;
  for (const int64_t size : kSizes) {
    const torch::Tensor expected = golden(arch + "/" + std::to_string(size));
    const double pooled = rel_diff(net->forward_all(make_input(arch, size)).pooled, expected);
    std::cout << "[parity frozen] " << arch << " @" << size << ": pooled max|d|/max|f| = " << pooled << "\n";
    EXPECT_LE(pooled, kTolerance) << arch << " @" << size;
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, Parity,
                         ::testing::Values("small_resnet", "resnet18", "resnet34", "resnet50", "resnet101",
                                           "densenet121", "mobilenet_v2"));

// One train-mode forward + backward of resnet18: batch-norm statistics updated as
// PyTorch updates them, the same gradients.
TEST(ParityTrain, Resnet18ForwardBackwardMatchesTorchvision) {
  if (!have_torchvision()) GTEST_SKIP() << "Debian python3-torch / python3-torchvision not installed";
  OneThread one_thread;
  edge::test::TempDir dir;
  edge::test::run_python(script_head(dir.path()) + R"(
arch = 'resnet18'
m = ref.fill_weights(ref.build(arch), arch).train()
torch.save(m.state_dict(), d + '/w.pth')
x = ref.make_input(arch, 64)
torch.manual_seed(5)
v = torch.randn(512)
p = ref.pooled(ref.feature_map(m, arch, x))
(p * v).sum().backward()
torch.save({'x': x, 'v': v, 'pooled': p.detach(), 'conv1_grad': m.conv1.weight.grad,
            'layer4_grad': m.layer4[1].conv2.weight.grad, 'bn1_grad': m.bn1.weight.grad}, d + '/io.pt')
torch.save(m.state_dict(), d + '/after.pth')
print('RESULT {}')
)");
  ModelConfig c = config_for("resnet18");
  c.pretrained = (dir.path() / "w.pth").string();
  MultiLabelNet net = build_model(c);
  net->train();
  const auto io = load_torch_file(dir.path() / "io.pt").toGenericDict();
  auto t = [&](const char* k) { return io.at(c10::IValue(std::string(k))).toTensor(); };
  const torch::Tensor p = net->backbone()->forward(t("x")).mean({2, 3});
  (p * t("v")).sum().backward();
  const StateDict state = module_state(*net->backbone());
  const double pooled = rel_diff(p.detach(), t("pooled"));
  const double conv1 = rel_diff(state.at("conv1.weight").grad(), t("conv1_grad"));
  const double layer4 = rel_diff(state.at("layer4.1.conv2.weight").grad(), t("layer4_grad"));
  const double bn1 = rel_diff(state.at("bn1.weight").grad(), t("bn1_grad"));
  double stats = 0.0;
  int64_t n_stats = 0;
  for (const auto& [key, expected] : read_state_dict(dir.path() / "after.pth")) {
    if (key.find("running_") != std::string::npos) {
      stats = std::max(stats, rel_diff(state.at(key), expected));
      ++n_stats;
    } else if (key.find("num_batches_tracked") != std::string::npos) {
      EXPECT_EQ(state.at(key).item<int64_t>(), 1) << key;
      EXPECT_EQ(expected.item<int64_t>(), 1) << key;
    }
  }
  std::cout << "[parity train] resnet18 @64: pooled " << pooled << ", running stats (" << n_stats
            << " tensors, worst) " << stats << ", grad conv1 " << conv1 << ", grad layer4.1.conv2 " << layer4
            << ", grad bn1 " << bn1 << "\n";
  EXPECT_EQ(n_stats, 40);
  EXPECT_LE(pooled, kTolerance);
  EXPECT_LE(stats, kTolerance);
  EXPECT_LE(conv1, 1e-3);
  EXPECT_LE(layer4, 1e-3);
  EXPECT_LE(bn1, 1e-3);
}

// The shared real ImageNet MobileNetV2 weights on two real photographs: the same top-1
// ImageNet class as torchvision. Images are decoded, resized (256) and center-cropped
// (224) once in Python, and the same tensor is fed to both sides.
TEST(ParityImageNet, MobileNetV2PhotosGetTorchvisionsTop1) {
  const fs::path weights = fs::path(EDGE_SOURCE_DIR) / ".." / "shared" / "weights" / "mobilenet_v2_imagenet.pth";
  const fs::path photos = "/usr/share/backgrounds/mate/nature";
  if (!fs::exists(weights)) GTEST_SKIP() << weights << " not present";
  if (!fs::exists(photos / "LadyBird.jpg") || !fs::exists(photos / "FreshFlower.jpg"))
    GTEST_SKIP() << "mate-backgrounds photographs not installed";
  if (!edge::test::python_has_modules("torch,torchvision,PIL")) GTEST_SKIP() << "python3-torchvision / PIL missing";
  OneThread one_thread;
  edge::test::TempDir dir;
  const nlohmann::json py = python_result(edge::test::run_python(script_head(dir.path()) + R"(
import torchvision, torchvision.transforms as T
from PIL import Image
tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
files = [')" + (photos / "LadyBird.jpg").string() + "', '" + (photos / "FreshFlower.jpg").string() + R"(']
x = torch.stack([tf(Image.open(f).convert('RGB')) for f in files])
m = torchvision.models.mobilenet_v2()
m.load_state_dict(torch.load(')" + weights.string() + R"('))
m.eval()
with torch.no_grad():
    logits = m(x)
torch.save(x, d + '/x.pt')
torch.save(logits, d + '/logits.pt')
cats = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta['categories']
top = logits.argmax(1).tolist()
print('RESULT ' + json.dumps({'top1': top, 'names': [cats[i] for i in top], 'p': logits.softmax(1).max(1).values.tolist()}))
)"));
  ModelConfig c = config_for("mobilenet_v2");
  c.pretrained = weights.string();
  MultiLabelNet net = build_model(c);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = load_torch_file(dir.path() / "x.pt").toTensor();
  const StateDict sd = read_state_dict(weights);  // the ImageNet classifier the backbone ignores
  const torch::Tensor logits =
      torch::linear(net->forward_all(x).pooled, sd.at("classifier.1.weight"), sd.at("classifier.1.bias"));
  const torch::Tensor expected = load_torch_file(dir.path() / "logits.pt").toTensor();
  const auto top1 = logits.argmax(1);
  ASSERT_EQ(py["top1"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    std::cout << "[parity imagenet] photo " << i << ": C++ top-1 " << top1[i].item<int64_t>() << ", torchvision "
              << py["top1"][i] << " (" << py["names"][i].get<std::string>() << ", p = " << py["p"][i] << ")\n";
    EXPECT_EQ(top1[i].item<int64_t>(), py["top1"][i].get<int64_t>());
  }
  EXPECT_EQ(py["names"][0], "ladybug");
  EXPECT_EQ(py["names"][1], "daisy");
  const double d = rel_diff(logits, expected);
  std::cout << "[parity imagenet] logits max|d|/max|logit| = " << d << "\n";
  EXPECT_LE(d, kTolerance);
}

}  // namespace
