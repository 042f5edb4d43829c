#include "edge/data/mosaic.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/error.h"
#include "edge/data/image_io.h"

namespace edge::data {

namespace fs = std::filesystem;

namespace {

// splitmix64: decorrelates the per-set seeds derived from one user seed.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::mt19937_64 set_stream(uint64_t seed, const std::string& set_name) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a of the set name
  for (unsigned char ch : set_name) h = (h ^ ch) * 1099511628211ULL;
  return std::mt19937_64(mix(seed ^ mix(h)));
}

int64_t uniform_index(std::mt19937_64& rng, int64_t n) {
  return std::uniform_int_distribution<int64_t>(0, n - 1)(rng);
}

// A fair choice among `n` pools: no draw for one pool; otherwise floor(u * n) of one
// canonical draw u, which for two pools is exactly std::bernoulli_distribution(0.5)'s
// draw (u < 0.5 -> pool 0), the coin fashion-lt's OE set was first built with.
size_t choose_pool(std::mt19937_64& rng, size_t n) {
  if (n == 1) return 0;
  const double u = std::generate_canonical<double, std::numeric_limits<double>::digits>(rng);
  return std::min(n - 1, static_cast<size_t>(u * double(n)));
}

void check_items(const ItemPool& pool, const MosaicLayout& layout, const std::string& what) {
  if (pool.empty()) throw DataError(fmt::format("{}: no items to build mosaics from", what));
  for (const auto& item : pool)
    TORCH_CHECK(item.scalar_type() == torch::kUInt8 && item.is_contiguous() && item.dim() == 3 &&
                    item.size(0) == layout.channels && item.size(1) == layout.cell && item.size(2) == layout.cell,
                "mosaic item of ", what, ": expected contiguous uint8 [", layout.channels, ", ", layout.cell, ", ",
                layout.cell, "], got ", item.sizes());
}

// Fills `canvas` (uint8 [C, side, side], zeroed) with 1..max_items items in distinct cells;
// `pick(rng)` returns (item, class) for each; classes are marked in `label` when given.
template <typename Pick>
void fill_mosaic(std::mt19937_64& rng, const MosaicLayout& layout, torch::Tensor canvas, float* label, Pick&& pick) {
  std::vector<int> cells(static_cast<size_t>(layout.grid * layout.grid));
  std::iota(cells.begin(), cells.end(), 0);
  std::shuffle(cells.begin(), cells.end(), rng);
  const int n_items = std::uniform_int_distribution<int>(1, static_cast<int>(layout.max_items))(rng);
  const int64_t side = layout.side(), cell = layout.cell;
  auto* dst = canvas.data_ptr<uint8_t>();
  for (int k = 0; k < n_items; ++k) {
    auto [item, cls] = pick(rng);
    const int64_t r0 = (cells[k] / layout.grid) * cell, c0 = (cells[k] % layout.grid) * cell;
    const auto* src = item.template data_ptr<uint8_t>();
    for (int64_t ch = 0; ch < layout.channels; ++ch)
      for (int64_t r = 0; r < cell; ++r)
        std::copy_n(src + (ch * cell + r) * cell, cell, dst + (ch * side + r0 + r) * side + c0);
    if (label) label[cls] = 1.f;
  }
}

torch::Tensor blank_canvases(int64_t n, const MosaicLayout& layout) {
  return torch::zeros({n, layout.channels, layout.side(), layout.side()}, torch::kUInt8);
}

Dataset in_memory(const std::string& name, torch::Tensor images) {
  Dataset d;
  d.name = name;
  d.images = memory_source(std::move(images), name);
  return d;
}

Dataset labelled_mosaics(const std::string& name, int64_t n, const MosaicRecipe& recipe,
                         const std::vector<ItemPool>& pools, const std::vector<double>& probs, std::mt19937_64 rng) {
  const int64_t classes = static_cast<int64_t>(recipe.class_names.size());
  if (static_cast<int64_t>(pools.size()) != classes)
    throw DataError(fmt::format("{} {}: expected items of {} classes, got {}", recipe.name, name, classes, pools.size()));
  for (int64_t c = 0; c < classes; ++c) check_items(pools[c], recipe.layout, recipe.name + " class " + recipe.class_names[c]);
  std::discrete_distribution<int64_t> class_dist(probs.begin(), probs.end());
  torch::Tensor images = blank_canvases(n, recipe.layout);
  torch::Tensor labels = torch::zeros({n, classes}, torch::kFloat32);
  auto* label = labels.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i)
    fill_mosaic(rng, recipe.layout, images[i], label + i * classes, [&](std::mt19937_64& g) {
      const int64_t c = class_dist(g);
      return std::make_pair(pools[c][uniform_index(g, int64_t(pools[c].size()))], c);
    });
  Dataset d = in_memory(name, std::move(images));
  d.class_names = recipe.class_names;
  d.labels = std::move(labels);
  return d;
}

// Canvases [first, first + n) of `images`: mosaics whose items come from `pools`.
void unlabelled_mosaics(torch::Tensor& images, int64_t first, int64_t n, const MosaicLayout& layout,
                        const std::vector<ItemPool>& pools, std::mt19937_64& rng) {
  for (int64_t i = first; i < first + n; ++i)
    fill_mosaic(rng, layout, images[i], nullptr, [&](std::mt19937_64& g) {
      const ItemPool& pool = pools[choose_pool(g, pools.size())];
      return std::make_pair(pool[uniform_index(g, int64_t(pool.size()))], int64_t(0));
    });
}

// Canvases [first, first + n) of `images`: random side x side crops of random sources.
void random_crops(torch::Tensor& images, int64_t first, int64_t n, const std::vector<torch::Tensor>& sources,
                  int64_t side, std::mt19937_64& rng) {
  for (int64_t i = first; i < first + n; ++i) {
    const auto& src = sources[uniform_index(rng, int64_t(sources.size()))];
    const int64_t top = uniform_index(rng, src.size(1) - side + 1);
    const int64_t left = uniform_index(rng, src.size(2) - side + 1);
    images[i].copy_(src.slice(1, top, top + side).slice(2, left, left + side));
  }
}

std::vector<ItemPool> checked_pools(std::vector<ItemPool> pools, const MosaicLayout& layout, const std::string& what) {
  if (pools.empty()) throw DataError(fmt::format("{}: no item pools", what));
  for (const auto& p : pools) check_items(p, layout, what);
  return pools;
}

void check_crop_sources(const std::vector<torch::Tensor>& sources, const MosaicLayout& layout, const std::string& what) {
  if (sources.empty()) throw DataError(fmt::format("{}: no images to crop", what));
  for (const auto& s : sources)
    TORCH_CHECK(s.dim() == 3 && s.size(0) == layout.channels && s.size(1) >= layout.side() &&
                    s.size(2) >= layout.side(), what, ": expected uint8 [", layout.channels, ", >=", layout.side(),
                ", >=", layout.side(), "] crop sources, got ", s.sizes());
}

Dataset make_oe_set(const MosaicRecipe& recipe, int64_t n, uint64_t seed) {
  const auto& layout = recipe.layout;
  const auto pools = checked_pools(recipe.oe_items(), layout, recipe.name + " OE items");
  auto rng = set_stream(seed, "oe_train");
  const int64_t n_mosaic = n / 2, n_photo = n - n_mosaic;
  torch::Tensor images = blank_canvases(n, layout);
  unlabelled_mosaics(images, 0, n_mosaic, layout, pools, rng);
  const auto photos = recipe.oe_photos();
  check_crop_sources(photos, layout, recipe.name + " OE photographs");
  random_crops(images, n_mosaic, n_photo, photos, layout.side(), rng);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  return in_memory("oe_train", images.index_select(0, torch::tensor(order, torch::kInt64)).contiguous());
}

Dataset make_ood_set(const MosaicRecipe::OodSet& set, const MosaicRecipe& recipe, int64_t n, uint64_t seed) {
  const auto& layout = recipe.layout;
  auto rng = set_stream(seed, "ood_" + set.name);
  if (set.items) {
    torch::Tensor images = blank_canvases(n, layout);
    unlabelled_mosaics(images, 0, n, layout, checked_pools(set.items(), layout, recipe.name + " " + set.name), rng);
    return in_memory(set.name, std::move(images));
  }
  if (set.crops) {
    torch::Tensor images = blank_canvases(n, layout);
    const auto sources = set.crops();
    check_crop_sources(sources, layout, recipe.name + " " + set.name);
    random_crops(images, 0, n, sources, layout.side(), rng);
    return in_memory(set.name, std::move(images));
  }
  torch::Tensor images = torch::empty({n, layout.channels, layout.side(), layout.side()}, torch::kUInt8);
  auto* p = images.data_ptr<uint8_t>();
  std::uniform_int_distribution<int> byte(0, 255);
  for (int64_t i = 0; i < images.numel(); ++i) p[i] = static_cast<uint8_t>(byte(rng));
  return in_memory(set.name, std::move(images));
}

void check_options(const MosaicRecipe& recipe, const FashionLtOptions& opt, const FashionLtParts& parts) {
  for (const auto& [flag, n] : {std::pair{"--id_train", opt.id_train}, {"--id_val", opt.id_val},
                                {"--id_test", opt.id_test}, {"--oe_train", opt.oe_train},
                                {"--ood_test", opt.ood_test}})
    if (n < 1) throw UsageError(fmt::format("{} must be at least 1, got {}", flag, n));
  if (!(opt.rho >= 1.0) || !std::isfinite(opt.rho))
    throw UsageError(fmt::format("--rho must be a finite ratio p_head / p_tail of at least 1, got {}", opt.rho));
  const auto names = recipe.ood_names();
  for (const auto& name : parts.ood)
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw UsageError(fmt::format("unknown {} OOD set '{}' (expected one of {})", recipe.name, name,
                                   fmt::join(names, ", ")));
  TORCH_CHECK(recipe.layout.max_items >= 1 && recipe.layout.max_items <= recipe.layout.grid * recipe.layout.grid,
              recipe.name, ": expected 1 <= max_items <= grid^2, got ", recipe.layout.max_items);
}

}  // namespace

std::vector<std::string> MosaicRecipe::ood_names() const {
  std::vector<std::string> names;
  for (const auto& s : ood) names.push_back(s.name);
  return names;
}

Benchmark build_mosaic_benchmark(const MosaicRecipe& recipe, const FashionLtOptions& opt, const FashionLtParts& parts) {
  check_options(recipe, opt, parts);
  Benchmark b;
  b.name = recipe.name;
  b.class_names = recipe.class_names;
  const auto probs = long_tail_probabilities(static_cast<int64_t>(recipe.class_names.size()), opt.rho);
  auto id_set = [&](const std::string& split, int64_t n) {
    return labelled_mosaics("id_" + split, n, recipe, recipe.id_items(split), probs, set_stream(opt.seed, "id_" + split));
  };
  if (parts.id_train) b.id_train = id_set("train", opt.id_train);
  if (parts.id_val) b.id_val = id_set("val", opt.id_val);
  if (parts.id_test) b.id_test = id_set("test", opt.id_test);
  if (parts.oe_train) b.oe_train = make_oe_set(recipe, opt.oe_train, opt.seed);
  for (const auto& name : parts.ood) {
    const auto it = std::find_if(recipe.ood.begin(), recipe.ood.end(), [&](const auto& s) { return s.name == name; });
    b.ood_tests.push_back(make_ood_set(*it, recipe, opt.ood_test, opt.seed));
  }
  return b;
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

std::vector<fs::path> list_photo_files(const fs::path& dir, const std::string& what) {
  if (!fs::is_directory(dir)) throw DataError(fmt::format("{} folder {} not found", what, dir.string()));
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

std::vector<torch::Tensor> load_crop_sources(const std::vector<fs::path>& files, int64_t channels, int64_t short_side,
                                             int64_t min_side) {
  std::vector<torch::Tensor> out;
  for (const auto& f : files) {
    torch::Tensor img = channels == 1 ? load_gray_image(f).unsqueeze(0) : load_rgb_image(f);
    if (short_side > 0) img = resize_short_side(img, short_side);
    if (img.size(1) >= min_side && img.size(2) >= min_side) out.push_back(img.contiguous());
  }
  if (out.empty()) throw DataError(fmt::format("no image is at least {}x{} pixels", min_side, min_side));
  return out;
}

std::function<std::vector<torch::Tensor>()> photo_crop_sources(const FashionLtOptions& options,
                                                               const MosaicLayout& layout, int64_t photo_short_side) {
  return [photo_dir = options.photo_dir, layout, photo_short_side] {
    return load_crop_sources(list_photo_files(photo_dir, "photograph"), layout.channels, photo_short_side,
                             layout.side());
  };
}

MosaicRecipe::OodSet texture_ood_set(const FashionLtOptions& options, const MosaicLayout& layout) {
  return {"textures", nullptr, [texture_dir = options.texture_dir, layout] {
            return load_crop_sources(list_photo_files(texture_dir, "texture"), layout.channels, 0, layout.side());
          }};
}

}  // namespace edge::data
