#include "edge/data/augment.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::data {

bool Transform::is_random() const {
  for (const auto& s : steps)
    if (s.kind == TransformStep::Kind::HorizontalFlip || s.kind == TransformStep::Kind::RandomResizedCrop)
      return true;
  return false;
}

namespace {

// Steps [first, end) of `steps` on img. A pending flip (`mirrored`) is applied by the next
// crop/resize reading the image right to left, so the flip of the full decoded image is
// never materialised.
torch::Tensor apply_steps(const Transform& t, torch::Tensor img, SampleRng& rng, size_t first, bool mirrored) {
  for (size_t i = first; i < t.steps.size(); ++i) {
    const TransformStep& s = t.steps[i];
    using K = TransformStep::Kind;
    switch (s.kind) {
      case K::HorizontalFlip:
        if (rng.bernoulli(s.p)) mirrored = !mirrored;
        break;
      case K::RandomResizedCrop: {
        const CropBox box =
            random_resized_crop_box(img.size(1), img.size(2), s.scale_lo, s.scale_hi, s.ratio_lo, s.ratio_hi, rng);
        img = resized_crop(img, box, s.height, s.width, mirrored);
        mirrored = false;
        break;
      }
      case K::Resize:
        img = resized_crop(img, CropBox{0, 0, img.size(1), img.size(2)}, s.height, s.width, mirrored);
        mirrored = false;
        break;
      case K::ResizeShorter: {
        const auto [h, w] = shorter_side_size(img.size(1), img.size(2), s.height);
        img = resized_crop(img, CropBox{0, 0, img.size(1), img.size(2)}, h, w, mirrored);
        mirrored = false;
        break;
      }
      case K::CenterCrop:
        if (mirrored) img = hflip(img);
        mirrored = false;
        img = center_crop(img, s.height, s.width);
        break;
    }
  }
  if (mirrored) img = hflip(img);
  if (t.to_rgb) img = gray_to_rgb(img);
  if (t.to_gray) img = rgb_to_gray(img);
  return img;
}

// One edge [lo, lo + len) of a box on a side of `full` pixels, on that side reduced to `reduced`.
std::pair<int64_t, int64_t> scale_span(int64_t lo, int64_t len, int64_t full, int64_t reduced) {
  const double f = double(reduced) / double(full);
  const int64_t a = std::clamp<int64_t>(std::llround(double(lo) * f), 0, reduced - 1);
  const int64_t b = std::clamp<int64_t>(std::llround(double(lo + len) * f), a + 1, reduced);
  return {a, b - a};
}

}  // namespace

torch::Tensor Transform::apply_u8(const torch::Tensor& img_u8, SampleRng& rng) const {
  TORCH_CHECK(img_u8.dim() == 3 && img_u8.scalar_type() == torch::kUInt8,
              "Transform ", name, ": expected a uint8 [C, H, W] image, got ", img_u8.sizes());
  return apply_steps(*this, img_u8, rng, 0, false);
}

torch::Tensor Transform::apply_u8(const ImageSource& source, int64_t index, SampleRng& rng) const {
  size_t crop = 0;
  while (crop < steps.size() && steps[crop].kind == TransformStep::Kind::HorizontalFlip) ++crop;
  if (!reduced_decode || crop == steps.size() || steps[crop].kind != TransformStep::Kind::RandomResizedCrop)
    return apply_u8(source.load(index), rng);
  // The draws of apply_u8 in its order: the flips, then the box on the full size.
  bool mirrored = false;
  for (size_t i = 0; i < crop; ++i)
    if (rng.bernoulli(steps[i].p)) mirrored = !mirrored;
  const TransformStep& s = steps[crop];
  CropBox box;
  int64_t full_h = 0, full_w = 0;
  auto [img, reduction] = source.load_reduced(index, [&](int64_t h, int64_t w) {
    full_h = h;
    full_w = w;
    box = random_resized_crop_box(h, w, s.scale_lo, s.scale_hi, s.ratio_lo, s.ratio_hi, rng);
    int r = 8;
    while (r > 1 && (box.height < r * s.height || box.width < r * s.width)) r /= 2;
    return r;
  });
  TORCH_CHECK(img.dim() == 3 && img.scalar_type() == torch::kUInt8, "Transform ", name,
              ": expected a uint8 [C, H, W] image, got ", img.sizes());
  if (reduction > 1) {
    const auto [top, height] = scale_span(box.top, box.height, full_h, img.size(1));
    const auto [left, width] = scale_span(box.left, box.width, full_w, img.size(2));
    box = CropBox{top, left, height, width};
  }
  img = resized_crop(img, box, s.height, s.width, mirrored);
  return apply_steps(*this, img, rng, crop + 1, false);
}

torch::Tensor Transform::apply(const torch::Tensor& img_u8, SampleRng& rng) const {
  return normalize(apply_u8(img_u8, rng));
}

torch::Tensor Transform::normalize(const torch::Tensor& img_u8, torch::Tensor out) const {
  if (normalization == Normalization::Torchvision) return to_normalized_float(img_u8, mean, std, std::move(out));
  TORCH_CHECK(mean.size() == 1 && std.size() == 1, "Transform ", name,
              ": the scale-shift normalisation takes one mean and one std, got ", mean.size(), " and ", std.size());
  // fashion-lt's historical arithmetic, kept operation for operation so its inputs keep their bits.
  return to_scale_shifted_float(img_u8, 1.0 / (255.0 * std[0]), mean[0] / std[0], std::move(out));
}

std::vector<int64_t> Transform::output_shape(int64_t channels) const {
  int64_t h = -1, w = -1;
  for (const auto& s : steps) {
    using K = TransformStep::Kind;
    if (s.kind == K::RandomResizedCrop || s.kind == K::Resize || s.kind == K::CenterCrop) {
      h = s.height;
      w = s.width;
    } else if (s.kind == K::ResizeShorter) {
      h = w = -1;
    }
  }
  if (h < 0) return {};
  return {to_rgb ? 3 : to_gray ? 1 : channels, h, w};
}

namespace {

TransformStep step(TransformStep::Kind kind, int64_t h, int64_t w) {
  TransformStep s;
  s.kind = kind;
  s.height = h;
  s.width = w;
  return s;
}

}  // namespace

Transform reference_train_transform(int64_t size) {
  Transform t;
  t.name = fmt::format("train{}", size);
  t.steps.push_back(step(TransformStep::Kind::HorizontalFlip, 0, 0));
  TransformStep crop = step(TransformStep::Kind::RandomResizedCrop, size, size);
  crop.scale_lo = 0.5;
  crop.scale_hi = 2.0;
  t.steps.push_back(crop);
  return t;
}

Transform reference_eval_transform(int64_t size) {
  Transform t;
  t.name = fmt::format("eval{}", size);
  t.steps.push_back(step(TransformStep::Kind::Resize, size, size));
  return t;
}

Transform imagenet_eval_transform(int64_t size) {
  Transform t;
  t.name = fmt::format("imagenet-eval{}", size);
  t.steps.push_back(step(TransformStep::Kind::ResizeShorter, size * 256 / 224, 0));
  t.steps.push_back(step(TransformStep::Kind::CenterCrop, size, size));
  return t;
}

Transform transform_preset(const std::string& name, int64_t size) {
  if (size <= 0) throw UsageError(fmt::format("transform size must be positive, got {}", size));
  if (name == "train") return reference_train_transform(size);
  if (name == "eval") return reference_eval_transform(size);
  if (name == "imagenet-eval") return imagenet_eval_transform(size);
  throw UsageError(fmt::format("unknown transform preset '{}' (expected train, eval or imagenet-eval)", name));
}

}  // namespace edge::data
