#include "edge/data/cifar_lt.h"

#include <map>
#include <memory>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "edge/common/error.h"
#include "edge/data/mosaic.h"
#include "edge/data/readers.h"

namespace edge::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kCell = 32;
constexpr int64_t kPhotoShortSide = 160;
const std::vector<std::string> kIdClasses = {"airplane", "automobile", "bird", "cat", "deer", "dog"};
const std::vector<std::string> kOeClasses = {"frog", "horse"};
const std::vector<std::string> kNearOodClasses = {"ship", "truck"};

bool is_cifar_binary(const fs::path& dir) {
  return fs::is_regular_file(dir / "data_batch_1.bin") || fs::is_regular_file(dir / "test_batch.bin");
}

// CIFAR-10 as item pools, each split opened once and each (split, class) decoded once, only
// when a part of the build needs it.
class CifarItems {
 public:
  explicit CifarItems(fs::path root) : root_(std::move(root)) {}

  const ItemPool& pool(const std::string& split, const std::string& class_name) {
    const auto key = std::make_pair(split, class_name);
    if (auto it = pools_.find(key); it != pools_.end()) return it->second;
    return pools_[key] = decode_class(open(split), class_name);
  }

 private:
  const Dataset& open(const std::string& split) {
    if (auto it = splits_.find(split); it != splits_.end()) return it->second;
    if (!fs::is_directory(root_))
      throw DataError(fmt::format("--dataset: CIFAR-10 folder {} not found (expected an ImageFolder with train/ and "
                                  "test/, or cifar-10-batches-bin; the set-up unpacks ../shared/data's copy into "
                                  ".data/cifar10-images)", root_.string()));
    Dataset d = is_cifar_binary(root_) ? read_cifar10_bin(root_, split)
                                       : read_image_folder_classes(root_ / split, "cifar10/" + split);
    return splits_[split] = std::move(d);
  }

  ItemPool decode_class(const Dataset& set, const std::string& class_name) const {
    const auto it = std::find(set.class_names.begin(), set.class_names.end(), class_name);
    if (it == set.class_names.end())
      throw DataError(fmt::format("--dataset: {} has no class '{}' (cifar-lt needs the CIFAR-10 classes)", set.name,
                                  class_name));
    const auto column = set.labels.select(1, it - set.class_names.begin()).gt(0.5f);
    const auto rows = column.nonzero().flatten().contiguous();
    ItemPool pool(static_cast<size_t>(rows.numel()));
    const auto* index = rows.data_ptr<int64_t>();
    at::parallel_for(0, rows.numel(), 64, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        torch::Tensor img = set.images->load(index[i]);
        if (img.size(0) != 3 || img.size(1) != kCell || img.size(2) != kCell)
          throw DataError(fmt::format("{}: expected a 32x32 image, got {}x{}", set.images->describe(index[i]),
                                      img.size(2), img.size(1)));
        pool[static_cast<size_t>(i)] = img.contiguous();
      }
    });
    return pool;
  }

  fs::path root_;
  std::map<std::string, Dataset> splits_;
  std::map<std::pair<std::string, std::string>, ItemPool> pools_;
};

// Items of `classes`: the train split's, or the first (val) / second (test) half of each
// class's test images.
std::vector<ItemPool> class_pools(CifarItems& items, const std::vector<std::string>& classes, const std::string& split) {
  std::vector<ItemPool> pools;
  for (const auto& name : classes) {
    const ItemPool& all = items.pool(split == "train" ? "train" : "test", name);
    if (split == "train") {
      pools.push_back(all);
      continue;
    }
    const auto half = static_cast<std::ptrdiff_t>(all.size() / 2);
    pools.emplace_back(split == "val" ? all.begin() : all.begin() + half, split == "val" ? all.begin() + half : all.end());
  }
  return pools;
}

MosaicRecipe cifar_lt_recipe(const FashionLtOptions& opt, const fs::path& source) {
  auto items = std::make_shared<CifarItems>(source);
  MosaicRecipe r;
  r.name = kCifarLtName;
  r.layout = {3, kCell, 2, 4};
  r.class_names = kIdClasses;
  r.id_items = [items](const std::string& split) { return class_pools(*items, kIdClasses, split); };
  r.oe_items = [items] { return class_pools(*items, kOeClasses, "train"); };
  r.oe_photos = photo_crop_sources(opt, r.layout, kPhotoShortSide);
  MosaicRecipe::OodSet vehicles{"vehicles", [items] {
    std::vector<ItemPool> pools;
    for (const auto& name : kNearOodClasses) pools.push_back(items->pool("test", name));
    return pools;
  }, nullptr};
  r.ood = {vehicles, texture_ood_set(opt, r.layout), {"noise", nullptr, nullptr}};
  return r;
}

}  // namespace

Transform cifar_lt_transform() {
  Transform t;
  t.name = kCifarLtName;
  TransformStep resize;
  resize.kind = TransformStep::Kind::Resize;
  resize.height = resize.width = kCifarLtSide;
  t.steps = {resize};
  t.to_rgb = true;  // ImageNet mean / std and torchvision's arithmetic: the Transform defaults
  return t;
}

const std::vector<std::string>& cifar_lt_ood_names() {
  static const std::vector<std::string> names = {"vehicles", "textures", "noise"};
  return names;
}

fs::path cifar_lt_default_source(const fs::path& data_root) {
  if (!data_root.empty() && fs::is_directory(data_root / "cifar10-images")) return data_root / "cifar10-images";
  return fs::path(EDGE_DEFAULT_DATA_DIR) / "cifar10-images";
}

Benchmark build_cifar_lt(const FashionLtOptions& given, const fs::path& source, const FashionLtParts& parts) {
  FashionLtOptions opt = given;
  opt.resolve_default_paths();
  return build_mosaic_benchmark(cifar_lt_recipe(opt, source), opt, parts);
}

}  // namespace edge::data
