// Transform pipelines (torchvision Compose equivalents) and the reference's presets.
//
// A Transform is a list of geometric steps on the uint8 image followed by ToTensor +
// Normalize. Random steps draw from the sample's own SampleRng, in step order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "edge/data/dataset.h"
#include "edge/data/sample_rng.h"
#include "edge/data/transforms.h"

namespace edge::data {

struct TransformStep {
  enum class Kind {
    HorizontalFlip,     // RandomHorizontalFlip(p)
    RandomResizedCrop,  // RandomResizedCrop((height, width), scale, ratio), bilinear
    Resize,             // Resize((height, width)), bilinear
    ResizeShorter,      // Resize(height): shorter side to `height`
    CenterCrop,         // CenterCrop((height, width))
  };
  Kind kind = Kind::Resize;
  int64_t height = 0, width = 0;
  double p = 0.5;
  double scale_lo = 0.08, scale_hi = 1.0;
  double ratio_lo = 3.0 / 4.0, ratio_hi = 4.0 / 3.0;
};

// How ToTensor + Normalize is computed in float32: the same map, two roundings.
enum class Normalization {
  Torchvision,  // (x / 255 - mean) / std, torchvision's order of operations
  ScaleShift,   // x * (1 / (255 std)) - mean / std: fashion-lt's arithmetic since its first
                // version, kept so that fp32 fashion-lt runs stay bit-identical to earlier ones
};

struct Transform {
  std::string name;
  std::vector<TransformStep> steps;
  bool to_rgb = true;    // repeat a gray channel to three (after the geometric steps)
  bool to_gray = false;  // or: RGB to one gray channel, as PIL's convert("L") (a gray-input model)
  std::vector<double> mean = {0.485, 0.456, 0.406};  // Normalize (ImageNet by default)
  std::vector<double> std = {0.229, 0.224, 0.225};
  Normalization normalization = Normalization::Torchvision;
  // apply_u8(source, ...): a JPEG is decoded reduced ahead of a leading RandomResizedCrop
  // (false: always at full size, for comparisons).
  bool reduced_decode = true;

  bool is_random() const;
  // The geometric steps and the gray->RGB expansion: uint8 [C, H, W] -> uint8 [C', H', W'].
  torch::Tensor apply_u8(const torch::Tensor& img_u8, SampleRng& rng) const;
  // apply_u8(source.load(index), rng), with the decode reduced where that only changes the
  // result within JPEG's DCT-scaling tolerance (below): when the first geometric step is a
  // RandomResizedCrop (flips before it allowed), its box is drawn on the size the file declares,
  // and a JPEG is decoded at 1/r of it, r the largest of 8, 4, 2 with the box still at least r
  // times the output size in both directions (what Pillow's draft() picks for that box); the
  // box is scaled to the reduced image and the crop resampled from it. The random draws are the
  // same as on the full decode (same boxes and flips); the pixels differ from it by the
  // difference between libjpeg-turbo's scaled IDCT and the resampling filter: on photographs,
  // mean |diff| <= 1.5 and 99th percentile <= 14 of 255 (measured 1.28 and 12 on the 16
  // mate-backgrounds photos, tests/data/test_reduced_decode.cpp). Keeping a 2x gap instead (as
  // Pillow's thumbnail(reducing_gap=2)) measured 0.58 and 5, but on 640x480 JPEGs at 224 it
  // reduces almost no boxes: the loader ran ~30 % slower (bench_loader, BENCHMARKS.md).
  torch::Tensor apply_u8(const ImageSource& source, int64_t index, SampleRng& rng) const;
  // apply_u8 then ToTensor + Normalize: float32 [C', H', W'].
  torch::Tensor apply(const torch::Tensor& img_u8, SampleRng& rng) const;
  // ToTensor + Normalize of an already transformed uint8 image, as `normalization` says;
  // into `out` (float [C, H, W], contiguous) if given.
  torch::Tensor normalize(const torch::Tensor& img_u8, torch::Tensor out = {}) const;
  // Output {C', H', W'} for an input of `channels` channels, or {} where it depends on the
  // input size (no final fixed-size step).
  std::vector<int64_t> output_shape(int64_t channels) const;
};

// The reference's training transform (train.py / oe.py img_transform), also used there for
// every OE set: RandomHorizontalFlip() -> RandomResizedCrop((size, size), scale=(0.5, 2.0))
// -> ToTensor() -> Normalize(ImageNet mean, std).
Transform reference_train_transform(int64_t size = 256);
// The reference's evaluation transform (val_transform; also its MNIST gray_transform, whose
// repeat(3, 1, 1) is the gray->RGB step): Resize((size, size)) -> ToTensor() -> Normalize.
// Evaluation always uses it (the reference's random transform on some test sets is a bug).
Transform reference_eval_transform(int64_t size = 256);
// The common ImageNet evaluation: Resize(size * 256 / 224) -> CenterCrop(size).
Transform imagenet_eval_transform(int64_t size = 224);

// By name: "train" (reference_train_transform), "eval" (reference_eval_transform),
// "imagenet-eval". Throws UsageError naming the name and the known ones.
Transform transform_preset(const std::string& name, int64_t size);

}  // namespace edge::data
