// Transforms against live torchvision 0.14 on PIL images (Debian's python3), and the
// properties of RandomResizedCrop's parameter sampling.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "edge/data/augment.h"
#include "edge/data/sample_rng.h"
#include "edge/data/transforms.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using edge::data::CropBox;

void write_raw(const fs::path& file, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  std::ofstream(file, std::ios::binary)
      .write(static_cast<const char*>(c.data_ptr()), std::streamsize(c.numel() * c.element_size()));
}

torch::Tensor read_raw(const fs::path& file, std::vector<int64_t> shape, torch::ScalarType type) {
  torch::Tensor t = torch::empty(shape, type);
  std::ifstream(file, std::ios::binary)
      .read(static_cast<char*>(t.data_ptr()), std::streamsize(t.numel() * t.element_size()));
  return t;
}

// Natural-looking content (smooth gradients, edges) plus noise: resampling errors show.
torch::Tensor test_image(int64_t c, int64_t h, int64_t w, int64_t seed) {
  torch::manual_seed(seed);
  auto y = torch::linspace(0, 1, h).view({1, h, 1});
  auto x = torch::linspace(0, 1, w).view({1, 1, w});
  auto phase = torch::arange(c).view({c, 1, 1}).to(torch::kFloat32);
  auto base = 127.5 + 80 * torch::sin(9 * x + 5 * y * y + phase) + 30 * ((x * 7).floor().remainder(2) - 0.5);
  auto img = base + 40 * torch::randn({c, h, w});
  return img.clamp(0, 255).round().to(torch::kUInt8);
}

constexpr const char* kPeerScript = R"PY(
import json, sys
import numpy as np
import torch
from PIL import Image
import torchvision.transforms as T
import torchvision.transforms.functional as F
d = sys.argv[1] if len(sys.argv) > 1 else DIR
cases = json.load(open(d + '/cases.json'))
def pil(arr):
    return Image.fromarray(arr[0], 'L') if arr.shape[0] == 1 else Image.fromarray(arr.transpose(1, 2, 0), 'RGB')
def chw(img):
    a = np.array(img)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
params = []
for c in cases:
    op, a = c['op'], c.get('args', [])
    if op == 'fallback':
        t = torch.zeros(c['shape'], dtype=torch.uint8)
        params.append(list(T.RandomResizedCrop.get_params(t, a[0:2], a[2:4])))
        continue
    arr = np.fromfile(d + '/' + c['in'], dtype=np.uint8).reshape(c['shape'])
    img = pil(arr)
    if c.get('mirror'):
        img = F.hflip(img)
    if op == 'resized_crop':
        out = chw(F.resized_crop(img, a[0], a[1], a[2], a[3], [a[4], a[5]], T.InterpolationMode.BILINEAR))
    elif op == 'resize':
        out = chw(F.resize(img, a, T.InterpolationMode.BILINEAR))
    elif op == 'hflip':
        out = chw(img)
    elif op == 'center_crop':
        out = chw(F.center_crop(img, a))
    elif op == 'gray_resize':
        out = np.repeat(chw(F.resize(img, a)), 3, axis=0)
    elif op == 'to_gray':
        out = chw(img.convert('L'))
    elif op == 'normalize':
        out = F.normalize(F.to_tensor(img), c['mean'], c['std']).numpy()
    np.ascontiguousarray(out).tofile(d + '/' + c['out'])
    with open(d + '/' + c['out'] + '.shape', 'w') as f:
        json.dump(list(out.shape), f)
print(json.dumps(params))
)PY";

struct PeerCase {
  nlohmann::json spec;
  torch::Tensor mine;
};

class TransformsVsTorchvision : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!edge::test::python_has_modules("torch,torchvision,PIL,numpy"))
      GTEST_SKIP() << "Debian python3 with torch, torchvision and PIL not available";
  }
  // Runs every case through torchvision; returns the peer outputs in case order and the
  // "fallback" parameters.
  std::vector<torch::Tensor> run(const std::vector<PeerCase>& cases, nlohmann::json& params) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& c : cases) all.push_back(c.spec);
    std::ofstream(dir_.path() / "cases.json") << all.dump();
    const std::string out = edge::test::run_python(std::string("DIR = '") + dir_.path().string() + "'\n" + kPeerScript);
    // The script's last line is the JSON list of parameters (warnings may precede it).
    std::string last, line;
    std::istringstream lines(out);
    while (std::getline(lines, line))
      if (!line.empty()) last = line;
    params = nlohmann::json::parse(last);
    std::vector<torch::Tensor> results;
    for (const auto& c : cases) {
      if (!c.spec.contains("out")) {
        results.emplace_back();
        continue;
      }
      const std::string name = c.spec["out"];
      nlohmann::json shape;
      std::ifstream(dir_.path() / (name + ".shape")) >> shape;
      results.push_back(read_raw(dir_.path() / name, shape.get<std::vector<int64_t>>(), c.mine.scalar_type()));
    }
    return results;
  }
  std::string input(const torch::Tensor& img) {
    const std::string name = "in" + std::to_string(inputs_++) + ".raw";
    write_raw(dir_.path() / name, img);
    return name;
  }
  edge::test::TempDir dir_;
  int inputs_ = 0;
};

TEST_F(TransformsVsTorchvision, GeometricOpsMatchPilWithinOneLsb) {
  const auto big = test_image(3, 480, 640, 1), small = test_image(3, 37, 53, 2), gray = test_image(1, 28, 28, 3);
  const auto in_big = input(big), in_small = input(small), in_gray = input(gray);
  std::vector<PeerCase> cases;
  int n = 0;
  auto add = [&](const std::string& in, const torch::Tensor& img, const std::string& op, nlohmann::json args,
                 bool mirror, torch::Tensor mine) {
    nlohmann::json s{{"in", in}, {"shape", img.sizes().vec()}, {"op", op}, {"args", args}, {"mirror", mirror},
                     {"out", "out" + std::to_string(n++) + ".raw"}};
    cases.push_back({s, mine});
  };
  using edge::data::resized_crop;
  // Reduction with antialiasing, enlargement, off-centre boxes, mirrored boxes.
  for (bool mirror : {false, true}) {
    for (const CropBox& b : {CropBox{0, 0, 480, 640}, CropBox{13, 101, 300, 211}, CropBox{200, 7, 151, 499},
                             CropBox{0, 600, 40, 40}})
      for (auto [oh, ow] : {std::pair<int64_t, int64_t>{256, 256}, {224, 224}, {97, 331}})
        add(in_big, big, "resized_crop", {b.top, b.left, b.height, b.width, oh, ow}, mirror,
            resized_crop(big, b, oh, ow, mirror));
    add(in_small, small, "resized_crop", {0, 0, 37, 53, 256, 256}, mirror,
        resized_crop(small, CropBox{0, 0, 37, 53}, 256, 256, mirror));
    add(in_small, small, "resized_crop", {3, 9, 30, 37, 30, 224}, mirror,
        resized_crop(small, CropBox{3, 9, 30, 37}, 30, 224, mirror));
  }
  add(in_big, big, "resize", {256, 256}, false, edge::data::resize(big, 256, 256));
  const auto [sh, sw] = edge::data::shorter_side_size(480, 640, 100);
  add(in_big, big, "resize", {100}, false, edge::data::resize(big, sh, sw));
  const auto [th, tw] = edge::data::shorter_side_size(37, 53, 256);
  add(in_small, small, "resize", {256}, false, edge::data::resize(small, th, tw));
  add(in_big, big, "hflip", {}, true, edge::data::hflip(big));
  add(in_big, big, "center_crop", {224, 224}, false, edge::data::center_crop(big, 224, 224));
  add(in_small, small, "center_crop", {64, 48}, false, edge::data::center_crop(small, 64, 48));
  add(in_small, small, "center_crop", {36, 60}, false, edge::data::center_crop(small, 36, 60));
  add(in_gray, gray, "gray_resize", {256, 256}, false,
      edge::data::gray_to_rgb(edge::data::resize(gray, 256, 256)));
  // Same-size resizes (Pillow returns a copy) and PIL's convert("L"), which fashion-lt's
  // transform applies to OOD images of other sizes and colours.
  add(in_small, small, "resize", {37, 53}, false, edge::data::resize(small, 37, 53));
  add(in_small, small, "resized_crop", {3, 9, 30, 37, 30, 37}, true,
      resized_crop(small, CropBox{3, 9, 30, 37}, 30, 37, true));
  add(in_big, big, "to_gray", {}, false, edge::data::rgb_to_gray(big));
  add(in_gray, gray, "to_gray", {}, false, edge::data::rgb_to_gray(gray));

  nlohmann::json params;
  const auto peer = run(cases, params);
  int64_t total = 0, exact = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].spec.dump());
    ASSERT_EQ(peer[i].sizes(), cases[i].mine.sizes());
    const auto diff = (peer[i].to(torch::kInt32) - cases[i].mine.to(torch::kInt32)).abs();
    EXPECT_LE(diff.max().item<int>(), 1);
    total += diff.numel();
    exact += (diff == 0).sum().item<int64_t>();
  }
  // Pillow's fixed-point arithmetic is reproduced exactly, so there should be no LSB errors.
  EXPECT_EQ(exact, total) << (total - exact) << " of " << total << " values differ by 1";
}

TEST_F(TransformsVsTorchvision, NormalizeIsBitIdenticalToToTensorThenNormalize) {
  const auto img = test_image(3, 31, 29, 4);
  const std::vector<double> mean{0.485, 0.456, 0.406}, std{0.229, 0.224, 0.225};
  const auto mine = edge::data::to_normalized_float(img, mean, std);
  std::vector<PeerCase> cases{{nlohmann::json{{"in", input(img)}, {"shape", img.sizes().vec()}, {"op", "normalize"},
                                              {"mean", mean}, {"std", std}, {"out", "norm.raw"}},
                               mine}};
  nlohmann::json params;
  const auto peer = run(cases, params);
  EXPECT_TRUE(torch::equal(peer[0], mine)) << (peer[0] - mine).abs().max().item<float>();
}

TEST_F(TransformsVsTorchvision, FallbackCropMatchesGetParams) {
  // scale > 1 everywhere: no try can fit, so get_params always takes the centre-crop fallback.
  std::vector<PeerCase> cases;
  std::vector<CropBox> mine;
  const std::vector<std::pair<int64_t, int64_t>> sizes{{100, 400}, {400, 100}, {300, 300}, {480, 640}, {101, 77}};
  for (auto [h, w] : sizes) {
    edge::data::SampleRng rng(1, 0, 0, 0);
    mine.push_back(edge::data::random_resized_crop_box(h, w, 3.0, 4.0, 3.0 / 4.0, 4.0 / 3.0, rng));
    cases.push_back({nlohmann::json{{"shape", std::vector<int64_t>{1, h, w}}, {"op", "fallback"},
                                    {"args", {3.0, 4.0, 3.0 / 4.0, 4.0 / 3.0}}},
                     torch::Tensor()});
  }
  nlohmann::json params;
  run(cases, params);
  ASSERT_EQ(params.size(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    const auto p = params[i].get<std::vector<int64_t>>();
    EXPECT_EQ(mine[i], (CropBox{p[0], p[1], p[2], p[3]})) << sizes[i].first << "x" << sizes[i].second;
  }
}

TEST(RandomResizedCropParams, BoxesFitAndRespectScaleAndRatioBounds) {
  int64_t fallbacks = 0;
  for (uint64_t s = 0; s < 2000; ++s) {
    edge::data::SampleRng rng(7, 0, 0, s);
    const int64_t H = 200 + int64_t(s % 7) * 37, W = 300 - int64_t(s % 5) * 29;
    const CropBox b = edge::data::random_resized_crop_box(H, W, 0.5, 2.0, 3.0 / 4.0, 4.0 / 3.0, rng);
    ASSERT_GE(b.top, 0);
    ASSERT_GE(b.left, 0);
    ASSERT_LE(b.top + b.height, H);
    ASSERT_LE(b.left + b.width, W);
    const double area = double(b.height) * double(b.width) / (double(H) * double(W));
    const double ratio = double(b.width) / double(b.height);
    const bool centre = b.top == (H - b.height) / 2 && b.left == (W - b.width) / 2;
    const bool whole = b.height == H && b.width == W;
    if (whole && centre) ++fallbacks;
    // Rounding w and h to integers moves the area and ratio by at most about 1 pixel.
    EXPECT_GE(area, 0.5 * (1 - 2.0 / std::min(b.height, b.width))) << s;
    EXPECT_LE(area, 1.0);
    EXPECT_GE(ratio, 0.75 * (1 - 1.0 / b.height) - 1.0 / b.height) << s;
    EXPECT_LE(ratio, 4.0 / 3.0 * (1 + 1.0 / b.height) + 1.0 / b.height) << s;
  }
  // With scale up to 2, about two thirds of the tries are too large, so ~(2/3)^10 ~ 2% of
  // the draws fall back to the whole image (here the ratio is within bounds).
  EXPECT_GT(fallbacks, 5);
  EXPECT_LT(fallbacks, 150);
}

TEST(RandomResizedCropParams, FallbackClampsToTheRatioRange) {
  edge::data::SampleRng rng(1, 2, 3, 4);
  EXPECT_EQ(edge::data::random_resized_crop_box(100, 400, 5, 6, 0.75, 4.0 / 3.0, rng), (CropBox{0, 133, 100, 133}));
  EXPECT_EQ(edge::data::random_resized_crop_box(400, 100, 5, 6, 0.75, 4.0 / 3.0, rng), (CropBox{133, 0, 133, 100}));
  EXPECT_EQ(edge::data::random_resized_crop_box(120, 100, 5, 6, 0.75, 4.0 / 3.0, rng), (CropBox{0, 0, 120, 100}));
}

TEST(TransformPipeline, SameKeySameOutputAndKeysDiffer) {
  const auto img = test_image(3, 120, 160, 5);
  const auto t = edge::data::reference_train_transform(64);
  edge::data::SampleRng a(3, 0, 1, 17), b(3, 0, 1, 17), c(3, 0, 1, 18), d(3, 0, 2, 17);
  const auto xa = t.apply(img, a), xb = t.apply(img, b), xc = t.apply(img, c), xd = t.apply(img, d);
  EXPECT_EQ(xa.sizes(), (std::vector<int64_t>{3, 64, 64}));
  EXPECT_TRUE(torch::equal(xa, xb));
  EXPECT_FALSE(torch::equal(xa, xc));
  EXPECT_FALSE(torch::equal(xa, xd));
  EXPECT_EQ(t.output_shape(1), (std::vector<int64_t>{3, 64, 64}));
}

// resized_crop's fast paths (fixed-length taps, mirrored boxes read with reversed weights,
// interleaved [H, W, C] memory read in place) are exact rewrites of one integer computation:
// every layout and the flipped image give the same bytes, for boxes that shrink by 1x-12x (K 3
// to 25, the templated and the generic loops), enlarge, keep one side, or are thinner than K.
TEST(ResizedCrop, InterleavedViewsAndMirroredBoxesGiveTheSameBytes) {
  const auto img = test_image(3, 97, 131, 8);
  const auto interleaved = img.permute({1, 2, 0}).contiguous().permute({2, 0, 1});  // strides {1, 393, 3}
  ASSERT_EQ(interleaved.stride(0), 1);
  const auto flipped = edge::data::hflip(img);
  const std::vector<std::pair<CropBox, std::pair<int64_t, int64_t>>> cases = {
      {{0, 0, 97, 131}, {24, 24}},  {{5, 7, 80, 120}, {40, 30}}, {{0, 0, 97, 131}, {8, 11}},
      {{10, 3, 60, 90}, {60, 45}},  {{10, 3, 60, 90}, {30, 90}}, {{1, 2, 3, 2}, {40, 50}},
      {{20, 30, 50, 70}, {97, 131}}, {{0, 100, 97, 31}, {16, 5}}, {{3, 4, 90, 127}, {89, 126}}};
  for (const auto& [box, size] : cases) {
    for (bool mirror : {false, true}) {
      const auto want = edge::data::resized_crop(img, box, size.first, size.second, mirror);
      EXPECT_TRUE(torch::equal(edge::data::resized_crop(interleaved, box, size.first, size.second, mirror), want))
          << box.top << "," << box.left << "," << box.height << "," << box.width << " mirror " << mirror;
      if (mirror)
        EXPECT_TRUE(torch::equal(edge::data::resized_crop(flipped, box, size.first, size.second, false), want))
            << box.top << "," << box.left << "," << box.height << "," << box.width;
    }
  }
}

TEST(TransformPipeline, FlipThenCropEqualsCropOfFlippedImage) {
  const auto img = test_image(3, 90, 70, 6);
  edge::data::Transform flip_crop;
  edge::data::TransformStep flip;
  flip.kind = edge::data::TransformStep::Kind::HorizontalFlip;
  flip.p = 1.0;
  edge::data::TransformStep resize;
  resize.kind = edge::data::TransformStep::Kind::Resize;
  resize.height = 33;
  resize.width = 41;
  flip_crop.steps = {flip, resize};
  edge::data::SampleRng rng(0, 0, 0, 0);
  const auto mine = flip_crop.apply_u8(img, rng);
  EXPECT_TRUE(torch::equal(mine, edge::data::resize(edge::data::hflip(img), 33, 41)));
}

TEST(TransformPipeline, EvalPresetIsDeterministicResizeAndGrayBecomesRgb) {
  const auto gray = test_image(1, 28, 28, 7);
  const auto t = edge::data::transform_preset("eval", 32);
  EXPECT_FALSE(t.is_random());
  edge::data::SampleRng a(0, 0, 0, 0), b(9, 9, 9, 9);
  const auto x = t.apply(gray, a);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_TRUE(torch::equal(x, t.apply(gray, b)));
  EXPECT_TRUE(torch::allclose(x[0] * 0.229 + 0.485, x[2] * 0.225 + 0.406, 1e-5, 1e-5));
  EXPECT_THROW(edge::data::transform_preset("random", 32), std::exception);
}

}  // namespace

namespace {

// fashion-lt's scale-shift normalisation, fused into one loop, against the three ATen passes
// it replaces (copy_, mul_, sub_): every one of the 256 values and a batch-shaped input, bit for bit.
TEST(TransformPipeline, ScaleShiftNormalizeIsBitIdenticalToTheAtenPasses) {
  edge::data::Transform t;
  t.name = "scale-shift";
  t.normalization = edge::data::Normalization::ScaleShift;
  const torch::Tensor all = torch::arange(256, torch::kInt32).to(torch::kUInt8).view({1, 16, 16});
  const torch::Tensor batch = torch::randint(0, 256, {3, 1, 37, 41}, torch::kUInt8);
  for (const auto& [mean, std] : {std::pair{0.5, 0.5}, std::pair{0.2860, 0.3530}}) {  // fashion-lt's, and others
    t.mean = {mean};
    t.std = {std};
    const double scale = 1.0 / (255.0 * std), shift = mean / std;
    for (const torch::Tensor& img : {all, batch, batch.transpose(2, 3)}) {
      const torch::Tensor expected = torch::empty(img.sizes(), torch::kFloat32).copy_(img).mul_(scale).sub_(shift);
      const torch::Tensor got = t.normalize(img);
      ASSERT_EQ(got.sizes(), img.sizes());
      EXPECT_TRUE(torch::equal(got, expected)) << img.sizes() << " mean " << mean << " std " << std;
    }
  }
  torch::Tensor out = torch::empty({1, 16, 16}, torch::kFloat32);
  EXPECT_TRUE(t.normalize(all, out).is_same(out));
  EXPECT_THROW(t.normalize(all, torch::empty({1, 16, 15}, torch::kFloat32)), c10::Error);
}

}  // namespace
