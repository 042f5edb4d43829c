// `cifar-lt`: a natural-photograph multi-label benchmark, the mosaic builder (mosaic.h) over
// CIFAR-10, in the setting of the method's own experiments (colour photos, a backbone that
// may be ImageNet-pretrained).
//
// ID: 64x64 RGB 2x2 mosaics of CIFAR-10 photos of {airplane, automobile, bird, cat, deer,
//     dog} (head to tail), 1-4 items in distinct cells, classes long-tailed with --rho.
//     Train canvases use the train split; validation and test canvases use disjoint halves of
//     each class's test images (first half validation, second half test).
// OE: half mosaics of {frog, horse} (train split), half random 64x64 RGB crops of the
//     photographs (--photo_dir, mate-backgrounds; short side first scaled to 160 px).
// OOD tests: `vehicles` (mosaics of {ship, truck}, test split: near OOD, classes never
//     trained on that share the vehicles' look), `textures` (random 64x64 RGB crops of the
//     mypaint textures), `noise` (uniform RGB noise).
// Why these splits: the animals make the long tail (cat / deer / dog are hard to tell apart,
// so tail classes are really harder); frog and horse are animals too, so OE teaches "other
// animals" without being evaluated on; ship and truck are the near OOD for airplane and
// automobile, the hardest case the method claims to handle.
//
// The source is an ImageFolder with train/ and test/ (the shared CIFAR-10 JPEGs, unpacked by
// the set-up into .data/cifar10-images) or the binary `cifar-10-batches-bin` folder:
// `--dataset cifar-lt:PATH`; without PATH, DATA_ROOT/cifar10-images where it exists, else the
// set-up's .data/cifar10-images.
//
// The same builder makes `mosaic:PATH`, the mosaic benchmark of any single-label source: PATH
// holds train/<class>/ and test/<class>/ image folders (torchvision's ImageFolder layout per
// split) or the CIFAR-10 binary batches. The options' mosaic_* fields choose the classes (ID
// head first, OE, near OOD: required for mosaic:PATH, CIFAR-10's above for cifar-lt), the grid,
// the items per canvas and the cell side; items of another size are resized to the cell
// (PIL bilinear, as transforms.h's resize), gray ones repeated to RGB. Its OOD sets: `near`
// (mosaics of the near-OOD classes), `textures`, `noise`. The canvas side grid x cell is the
// model's input side (both benchmarks' transform resizes other images to it).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "edge/data/augment.h"
#include "edge/data/dataset.h"
#include "edge/data/fashion_lt.h"

namespace edge::data {

inline constexpr char kCifarLtName[] = "cifar-lt";
inline constexpr char kMosaicName[] = "mosaic";

// Resize((S, S)) for the canvas side S = options.mosaic_grid * options.mosaic_cell (64 by
// default; a no-op on its own canvases, any other image becomes the model's input), RGB,
// ImageNet mean / std as torchvision's Normalize (what a pretrained backbone expects).
Transform cifar_lt_transform(const FashionLtOptions& options);

// The OOD test sets' names, in report order: vehicles, textures, noise (mosaic:PATH: near,
// textures, noise).
const std::vector<std::string>& cifar_lt_ood_names();
const std::vector<std::string>& mosaic_ood_names();

// Where cifar-lt reads CIFAR-10 when --dataset gives no PATH: DATA_ROOT/cifar10-images where
// that folder exists, else the set-up's .data/cifar10-images.
std::filesystem::path cifar_lt_default_source(const std::filesystem::path& data_root);

// Builds the parts asked for (parts.ood: names of cifar_lt_ood_names()) from `source` at
// `options`' sizes, rho and seed (its photo_dir / texture_dir; the Fashion paths are unused).
// Throws DataError naming the folder or file if the source lacks a class, a split or an
// image of 32x32 pixels.
Benchmark build_cifar_lt(const FashionLtOptions& options, const std::filesystem::path& source,
                         const FashionLtParts& parts);

// mosaic:PATH: the same from any single-label `source` with the options' classes (parts.ood:
// names of mosaic_ood_names()). Throws UsageError naming the --mosaic_* flag for a missing,
// repeated or shared class or a layout out of range, DataError naming the folder for a
// class the source lacks.
Benchmark build_class_mosaic(const FashionLtOptions& options, const std::filesystem::path& source,
                             const FashionLtParts& parts);

}  // namespace edge::data
