#include "edge/data/cifar_lt.h"

#include <map>
#include <memory>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "edge/common/error.h"
#include "edge/data/mosaic.h"
#include "edge/data/readers.h"
#include "edge/data/transforms.h"

namespace edge::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kPhotoShortSide = 160;
const std::vector<std::string> kIdClasses = {"airplane", "automobile", "bird", "cat", "deer", "dog"};
const std::vector<std::string> kOeClasses = {"frog", "horse"};
const std::vector<std::string> kNearOodClasses = {"ship", "truck"};

bool is_cifar_binary(const fs::path& dir) {
  return fs::is_regular_file(dir / "data_batch_1.bin") || fs::is_regular_file(dir / "test_batch.bin");
}

// Which benchmark a build is for, and its classes and layout as the options resolve them.
struct ClassMosaic {
  std::string name;       // cifar-lt or mosaic
  std::string near_name;  // its near-OOD set: vehicles or near
  std::vector<std::string> id, oe, near;
  MosaicLayout layout;
};

// Throws UsageError naming `flag` for fewer than `minimum` classes, an empty name, or a class
// already in `taken` (this or another list's classes); appends the list to `taken`.
void check_class_list(const std::vector<std::string>& list, const std::string& flag, size_t minimum,
                      std::vector<std::string>& taken) {
  if (list.size() < minimum)
    throw UsageError(fmt::format("{}: expected at least {} class folder name{}, got {}", flag, minimum,
                                 minimum == 1 ? "" : "s", list.size()));
  for (const auto& c : list) {
    if (c.empty()) throw UsageError(fmt::format("{}: an empty class name", flag));
    if (std::find(taken.begin(), taken.end(), c) != taken.end())
      throw UsageError(fmt::format("{}: class '{}' is named twice (the ID, OE and near-OOD classes must differ)", flag, c));
    taken.push_back(c);
  }
}

ClassMosaic resolve_class_mosaic(const FashionLtOptions& opt, bool cifar_lt) {
  ClassMosaic m;
  m.name = cifar_lt ? kCifarLtName : kMosaicName;
  m.near_name = cifar_lt ? "vehicles" : "near";
  auto pick = [&](const std::vector<std::string>& given, const std::vector<std::string>& cifar, const char* flag) {
    if (!given.empty() || cifar_lt) return given.empty() ? cifar : given;
    throw UsageError(fmt::format("{}: mosaic:PATH needs its classes (give --mosaic_id_classes, --mosaic_oe_classes "
                                 "and --mosaic_near_classes as comma-separated folder names)", flag));
  };
  m.id = pick(opt.mosaic_id_classes, kIdClasses, "--mosaic_id_classes");
  m.oe = pick(opt.mosaic_oe_classes, kOeClasses, "--mosaic_oe_classes");
  m.near = pick(opt.mosaic_near_classes, kNearOodClasses, "--mosaic_near_classes");
  std::vector<std::string> taken;
  check_class_list(m.id, "--mosaic_id_classes", 2, taken);  // a long tail needs a head and a tail
  check_class_list(m.oe, "--mosaic_oe_classes", 1, taken);
  check_class_list(m.near, "--mosaic_near_classes", 1, taken);
  if (opt.mosaic_grid < 1 || opt.mosaic_grid > 16)
    throw UsageError(fmt::format("--mosaic_grid must be in 1..16 cells per side, got {}", opt.mosaic_grid));
  if (opt.mosaic_items < 1 || opt.mosaic_items > opt.mosaic_grid * opt.mosaic_grid)
    throw UsageError(fmt::format("--mosaic_items must be in 1..{} (the cells of a {}x{} grid), got {}",
                                 opt.mosaic_grid * opt.mosaic_grid, opt.mosaic_grid, opt.mosaic_grid, opt.mosaic_items));
  if (opt.mosaic_cell < 4 || opt.mosaic_cell * opt.mosaic_grid > 1024)
    throw UsageError(fmt::format("--mosaic_cell must be at least 4 pixels and the canvas side --mosaic_grid x "
                                 "--mosaic_cell at most 1024, got {} x {}", opt.mosaic_grid, opt.mosaic_cell));
  m.layout = {3, opt.mosaic_cell, opt.mosaic_grid, opt.mosaic_items};
  return m;
}

// An item as a cell: resized to cell x cell where it is not already. Both sources decode to
// RGB (gray files repeated by load_rgb_image), and the mosaic builder checks every item's shape.
torch::Tensor as_cell(const torch::Tensor& img, int64_t cell) {
  return (img.size(1) == cell && img.size(2) == cell ? img : resize(img, cell, cell)).contiguous();
}

// A single-label source's items, each split opened once and each (split, class) decoded
// once, only when a part of the build needs it.
class ClassItems {
 public:
  ClassItems(fs::path root, std::string benchmark, int64_t cell)
      : root_(std::move(root)), benchmark_(std::move(benchmark)), cell_(cell) {}

  const ItemPool& pool(const std::string& split, const std::string& class_name, const std::string& flag) {
    const auto key = std::make_pair(split, class_name);
    if (auto it = pools_.find(key); it != pools_.end()) return it->second;
    return pools_[key] = decode_class(open(split), class_name, flag);
  }

 private:
  const Dataset& open(const std::string& split) {
    if (auto it = splits_.find(split); it != splits_.end()) return it->second;
    if (!fs::is_directory(root_))
      throw DataError(fmt::format("--dataset: {} folder {} not found (expected an ImageFolder with train/ and test/, "
                                  "or cifar-10-batches-bin{})", benchmark_ == kCifarLtName ? "CIFAR-10" : "source",
                                  root_.string(), benchmark_ == kCifarLtName ? "; the set-up unpacks ../shared/data's "
                                                                               "copy into .data/cifar10-images" : ""));
    Dataset d = is_cifar_binary(root_) ? read_cifar10_bin(root_, split)
                                       : read_image_folder_classes(root_ / split, benchmark_ + "/" + split);
    return splits_[split] = std::move(d);
  }

  ItemPool decode_class(const Dataset& set, const std::string& class_name, const std::string& flag) const {
    const auto it = std::find(set.class_names.begin(), set.class_names.end(), class_name);
    if (it == set.class_names.end())
      throw DataError(fmt::format("--dataset: {} has no class '{}' ({}: {})", set.name, class_name, flag,
                                  benchmark_ == kCifarLtName ? "cifar-lt reads CIFAR-10's class folders"
                                                             : "a folder name of the source"));
    const auto column = set.labels.select(1, it - set.class_names.begin()).gt(0.5f);
    const auto rows = column.nonzero().flatten().contiguous();
    ItemPool pool(static_cast<size_t>(rows.numel()));
    const auto* index = rows.data_ptr<int64_t>();
    at::parallel_for(0, rows.numel(), 64, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        pool[static_cast<size_t>(i)] = as_cell(set.images->load(index[i]), cell_);
    });
    return pool;
  }

  fs::path root_;
  std::string benchmark_;
  int64_t cell_;
  std::map<std::string, Dataset> splits_;
  std::map<std::pair<std::string, std::string>, ItemPool> pools_;
};

// Items of `classes`: the train split's, or the first (val) / second (test) half of each
// class's test images.
std::vector<ItemPool> class_pools(ClassItems& items, const std::vector<std::string>& classes, const std::string& split,
                                  const std::string& flag) {
  std::vector<ItemPool> pools;
  for (const auto& name : classes) {
    const ItemPool& all = items.pool(split == "train" ? "train" : "test", name, flag);
    if (split == "train") {
      pools.push_back(all);
      continue;
    }
    const auto half = static_cast<std::ptrdiff_t>(all.size() / 2);
    pools.emplace_back(split == "val" ? all.begin() : all.begin() + half, split == "val" ? all.begin() + half : all.end());
  }
  return pools;
}

MosaicRecipe class_mosaic_recipe(const FashionLtOptions& opt, const fs::path& source, const ClassMosaic& m) {
  auto items = std::make_shared<ClassItems>(source, m.name, m.layout.cell);
  MosaicRecipe r;
  r.name = m.name;
  r.layout = m.layout;
  r.class_names = m.id;
  r.id_items = [items, m](const std::string& split) { return class_pools(*items, m.id, split, "--mosaic_id_classes"); };
  r.oe_items = [items, m] { return class_pools(*items, m.oe, "train", "--mosaic_oe_classes"); };
  r.oe_photos = photo_crop_sources(opt, r.layout, std::max(kPhotoShortSide, r.layout.side()));
  MosaicRecipe::OodSet near{m.near_name, [items, m] {
    std::vector<ItemPool> pools;
    for (const auto& name : m.near) pools.push_back(items->pool("test", name, "--mosaic_near_classes"));
    return pools;
  }, nullptr};
  r.ood = {near, texture_ood_set(opt, r.layout), {"noise", nullptr, nullptr}};
  return r;
}

Benchmark build(const FashionLtOptions& given, const fs::path& source, const FashionLtParts& parts, bool cifar_lt) {
  FashionLtOptions opt = given;
  opt.resolve_default_paths();
  const ClassMosaic m = resolve_class_mosaic(opt, cifar_lt);
  return build_mosaic_benchmark(class_mosaic_recipe(opt, source, m), opt, parts);
}

}  // namespace

Transform cifar_lt_transform(const FashionLtOptions& options) {
  Transform t;
  t.name = kCifarLtName;
  TransformStep resize;
  resize.kind = TransformStep::Kind::Resize;
  resize.height = resize.width = options.mosaic_grid * options.mosaic_cell;
  t.steps = {resize};
  t.to_rgb = true;  // ImageNet mean / std and torchvision's arithmetic: the Transform defaults
  return t;
}

const std::vector<std::string>& cifar_lt_ood_names() {
  static const std::vector<std::string> names = {"vehicles", "textures", "noise"};
  return names;
}

const std::vector<std::string>& mosaic_ood_names() {
  static const std::vector<std::string> names = {"near", "textures", "noise"};
  return names;
}

fs::path cifar_lt_default_source(const fs::path& data_root) {
  if (!data_root.empty() && fs::is_directory(data_root / "cifar10-images")) return data_root / "cifar10-images";
  return fs::path(EDGE_DEFAULT_DATA_DIR) / "cifar10-images";
}

Benchmark build_cifar_lt(const FashionLtOptions& options, const fs::path& source, const FashionLtParts& parts) {
  return build(options, source, parts, true);
}

Benchmark build_class_mosaic(const FashionLtOptions& options, const fs::path& source, const FashionLtParts& parts) {
  return build(options, source, parts, false);
}

}  // namespace edge::data
