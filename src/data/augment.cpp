#include "edge/data/augment.h"

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

torch::Tensor Transform::apply_u8(const torch::Tensor& img_u8, SampleRng& rng) const {
  TORCH_CHECK(img_u8.dim() == 3 && img_u8.scalar_type() == torch::kUInt8,
              "Transform ", name, ": expected a uint8 [C, H, W] image, got ", img_u8.sizes());
  torch::Tensor img = img_u8;
  // A pending flip is applied by the next crop/resize reading the image right to left, so
  // the flip of the full decoded image is never materialised.
  bool mirrored = false;
  for (const auto& s : steps) {
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
  if (to_rgb) img = gray_to_rgb(img);
  if (to_gray) img = rgb_to_gray(img);
  return img;
}

torch::Tensor Transform::apply(const torch::Tensor& img_u8, SampleRng& rng) const {
  return normalize(apply_u8(img_u8, rng));
}

torch::Tensor Transform::normalize(const torch::Tensor& img_u8, torch::Tensor out) const {
  if (normalization == Normalization::Torchvision) return to_normalized_float(img_u8, mean, std, std::move(out));
  TORCH_CHECK(mean.size() == 1 && std.size() == 1, "Transform ", name,
              ": the scale-shift normalisation takes one mean and one std, got ", mean.size(), " and ", std.size());
  if (!out.defined()) out = torch::empty(img_u8.sizes(), torch::kFloat32);
  // fashion-lt's historical arithmetic, kept operation for operation so its inputs keep their bits.
  return out.copy_(img_u8).mul_(1.0 / (255.0 * std[0])).sub_(mean[0] / std[0]);
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
