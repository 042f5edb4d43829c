// Image transforms with torchvision 0.14 semantics on uint8 [C, H, W] images, matching
// what torchvision does to PIL images (the reference transforms PIL images):
//   resize / resized_crop  = PIL Image.resize(..., BILINEAR): a separable triangle filter
//                            widened by the scale factor when reducing (antialiased), in
//                            PIL's 8-bit fixed-point arithmetic (horizontal pass first,
//                            intermediate rounded to uint8) -- bit-identical to Pillow 9.
//   random_resized_crop_box = RandomResizedCrop.get_params: 10 tries, then the centre-crop
//                            fallback (always taken when scale's lower bound exceeds 1).
//   to_normalized_float    = ToTensor() then Normalize(mean, std), in float32, in
//                            torchvision's order of operations (x / 255 - mean) / std.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "edge/data/sample_rng.h"

namespace edge::data {

// A crop box in torchvision's (i, j, h, w) order: top row, left column, height, width.
struct CropBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
  bool operator==(const CropBox& o) const {
    return top == o.top && left == o.left && height == o.height && width == o.width;
  }
};

// RandomResizedCrop.get_params for an image of `height` x `width`, drawing from `rng`:
// up to 10 tries of area fraction ~ U(scale) and log aspect ratio ~ U(log ratio); the first
// box that fits is placed uniformly; otherwise the centre crop clamped to `ratio`.
CropBox random_resized_crop_box(int64_t height, int64_t width, double scale_lo, double scale_hi, double ratio_lo,
                                double ratio_hi, SampleRng& rng);

// F.resized_crop(img, i, j, h, w, [out_h, out_w]) on a PIL image: crop `box` then resample
// to out_h x out_w. With `mirror`, the result is that of the same call on the horizontally
// flipped image (no flipped copy is made). `box` must lie inside the image.
torch::Tensor resized_crop(const torch::Tensor& img_u8, const CropBox& box, int64_t out_h, int64_t out_w,
                           bool mirror = false);

// F.resize(img, [out_h, out_w]) on a PIL image.
torch::Tensor resize(const torch::Tensor& img_u8, int64_t out_h, int64_t out_w);

// Output size of F.resize(img, size) with a single int: the shorter side becomes `size`,
// the longer int(size * long / short). Returns {height, width}.
std::pair<int64_t, int64_t> shorter_side_size(int64_t height, int64_t width, int64_t size);

// F.hflip.
torch::Tensor hflip(const torch::Tensor& img_u8);

// F.center_crop(img, [h, w]): zero-padded first where the image is smaller (as torchvision).
torch::Tensor center_crop(const torch::Tensor& img_u8, int64_t h, int64_t w);

// One gray channel repeated to three (x.repeat(3, 1, 1)); three channels pass through.
torch::Tensor gray_to_rgb(const torch::Tensor& img_u8);

// PIL's Image.convert("L") of an RGB image (ITU-R 601-2 luma, Pillow's fixed-point rounding);
// one channel passes through.
torch::Tensor rgb_to_gray(const torch::Tensor& img_u8);

// ToTensor + Normalize: float32 (x / 255 - mean[c]) / std[c]; mean/std have one entry per
// channel (or one entry for all). Writes into `out` (float [C, H, W], contiguous) if given.
torch::Tensor to_normalized_float(const torch::Tensor& img_u8, const std::vector<double>& mean,
                                  const std::vector<double>& std, torch::Tensor out = {});

// float32 x * scale - shift with both scalars cast to float32 and the product rounded before
// the difference, for a uint8 tensor of any shape: what out.copy_(x).mul_(scale).sub_(shift)
// computes (ATen casts a double scalar to the float tensor's type), in one pass instead of three
// and without ATen's per-call cost (paid per image by the loader). Writes into `out` (float,
// same sizes, contiguous) if given.
torch::Tensor to_scale_shifted_float(const torch::Tensor& img_u8, double scale, double shift, torch::Tensor out = {});

}  // namespace edge::data
