#include "edge/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <torch/torch.h>

namespace edge::data {

namespace {

void check_image(const torch::Tensor& img, const char* fn) {
  TORCH_CHECK(img.defined() && img.dim() == 3 && img.scalar_type() == torch::kUInt8, fn,
              ": expected a uint8 [C, H, W] image, got ", img.defined() ? img.sizes() : c10::IntArrayRef{});
}

// Python's round() (half to even) then int(): the default rounding mode of nearbyint.
int64_t py_round(double v) { return static_cast<int64_t>(std::nearbyint(v)); }

// Pillow's 8-bit resampling (libImaging/Resample.c): coefficients in double, normalised per
// output pixel, then converted to fixed point with 22 fractional bits.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coefficients {
  int64_t ksize = 0;
  std::vector<int64_t> first, count;  // first source index and number of taps per output
  std::vector<int32_t> k;             // [out_size, ksize]
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

Coefficients bilinear_coefficients(int64_t in_size, int64_t out_size) {
  const double scale = double(in_size) / double(out_size);
  const double filterscale = std::max(1.0, scale);
  const double support = 1.0 * filterscale;  // the bilinear filter's support is 1
  Coefficients c;
  c.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  c.first.resize(size_t(out_size));
  c.count.resize(size_t(out_size));
  c.k.assign(size_t(out_size * c.ksize), 0);
  std::vector<double> w(size_t(c.ksize));
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (double(xx) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int64_t xmin = static_cast<int64_t>(center - support + 0.5);  // C cast truncates, as Pillow
    if (xmin < 0) xmin = 0;
    int64_t xmax = static_cast<int64_t>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      w[size_t(x)] = triangle((double(x + xmin) - center + 0.5) * ss);
      ww += w[size_t(x)];
    }
    int32_t* k = &c.k[size_t(xx * c.ksize)];
    for (int64_t x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[size_t(x)] / ww : w[size_t(x)];
      k[x] = static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits) : 0.5 + v * (1 << kPrecisionBits));
    }
    c.first[size_t(xx)] = xmin;
    c.count[size_t(xx)] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t in) {
  if (in >= (1 << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<uint8_t>(in >> kPrecisionBits);
}

// A strided view of one image: pixel (c, y, x) at base[c*sc + y*sy + x*sx], strides positive
// (planar [C, H, W] has sx 1; an interleaved [H, W, C] buffer seen as [C, H, W] has sc 1, sx C).
struct View {
  const uint8_t* base;
  int64_t channels, height, width, sc, sy, sx;
  uint8_t at(int64_t c, int64_t y, int64_t x) const { return base[c * sc + y * sy + x * sx]; }
};

// The horizontal taps laid out for a fixed-length inner loop: output x reads `K` consecutive
// source pixels from offset[x] with weights k[x*K ...]; the taps past Pillow's own count weigh
// 0, so the integer sums are Pillow's. With `mirror` the source row is read as flipped: the
// same taps in memory order, their weights reversed (integer sums do not depend on the order).
struct RowKernel {
  int64_t K = 0;
  std::vector<int64_t> offset;
  std::vector<int32_t> k;  // [out_size, K]
};

RowKernel row_kernel(int64_t in_size, int64_t out_size, bool mirror) {
  const Coefficients c = bilinear_coefficients(in_size, out_size);
  RowKernel r;
  r.K = std::min(c.ksize, in_size);
  r.offset.resize(size_t(out_size));
  r.k.assign(size_t(out_size * r.K), 0);
  for (int64_t x = 0; x < out_size; ++x) {
    const int64_t first = c.first[size_t(x)], n = c.count[size_t(x)];
    const int64_t lo = mirror ? in_size - first - n : first;  // leftmost tap in memory
    const int64_t start = std::min(lo, in_size - r.K);
    r.offset[size_t(x)] = start;
    const int32_t* src = &c.k[size_t(x * c.ksize)];
    int32_t* dst = &r.k[size_t(x * r.K + (lo - start))];
    for (int64_t t = 0; t < n; ++t) dst[t] = src[mirror ? n - 1 - t : t];
  }
  return r;
}

// One row of the horizontal pass; K and the pixel stride SX fixed at compile time where they
// are common (the RandomResizedCrop of 300-600 px boxes to 224-256 has K 3 to 7).
template <int64_t K, int64_t SX>
void horizontal_row(const uint8_t* src, const RowKernel& h, int64_t k_size, int64_t sx, uint8_t* row,
                    int64_t out_w) {
  const int64_t taps = K > 0 ? K : k_size, stride = SX > 0 ? SX : sx;
  for (int64_t xx = 0; xx < out_w; ++xx) {
    const uint8_t* p = src + h.offset[size_t(xx)] * stride;
    const int32_t* k = &h.k[size_t(xx * taps)];
    int32_t ss = 1 << (kPrecisionBits - 1);
    for (int64_t x = 0; x < taps; ++x) ss += int32_t(p[x * stride]) * k[x];
    row[xx] = clip8(ss);
  }
}

// The same for the three channels of an interleaved RGB row at once (one pass over the row,
// one read of each tap's weight), writing to three planes `rows[c]`.
template <int64_t K>
void horizontal_rgb_row(const uint8_t* src, const RowKernel& h, int64_t k_size, uint8_t* const rows[3],
                        int64_t out_w) {
  const int64_t taps = K > 0 ? K : k_size;
  for (int64_t xx = 0; xx < out_w; ++xx) {
    const uint8_t* p = src + h.offset[size_t(xx)] * 3;
    const int32_t* k = &h.k[size_t(xx * taps)];
    int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
    for (int64_t x = 0; x < taps; ++x) {
      s0 += int32_t(p[3 * x]) * k[x];
      s1 += int32_t(p[3 * x + 1]) * k[x];
      s2 += int32_t(p[3 * x + 2]) * k[x];
    }
    rows[0][xx] = clip8(s0);
    rows[1][xx] = clip8(s1);
    rows[2][xx] = clip8(s2);
  }
}

using HorizontalRgbRow = void (*)(const uint8_t*, const RowKernel&, int64_t, uint8_t* const[3], int64_t);

HorizontalRgbRow horizontal_rgb_row_for(int64_t K) {
  switch (K) {
    case 3: return horizontal_rgb_row<3>;
    case 5: return horizontal_rgb_row<5>;
    case 7: return horizontal_rgb_row<7>;
    case 9: return horizontal_rgb_row<9>;
    default: return horizontal_rgb_row<0>;
  }
}

using HorizontalRow = void (*)(const uint8_t*, const RowKernel&, int64_t, int64_t, uint8_t*, int64_t);

template <int64_t SX>
HorizontalRow horizontal_row_for(int64_t K) {
  switch (K) {
    case 3: return horizontal_row<3, SX>;
    case 5: return horizontal_row<5, SX>;
    case 7: return horizontal_row<7, SX>;
    case 9: return horizontal_row<9, SX>;
    default: return horizontal_row<0, SX>;
  }
}

HorizontalRow horizontal_row_for(int64_t K, int64_t sx) {
  if (sx == 1) return horizontal_row_for<1>(K);
  if (sx == 3) return horizontal_row_for<3>(K);
  return horizontal_row_for<0>(K);
}

// Pillow's ImagingResampleInner for a full-image box (of `in`, read mirrored if `mirror`):
// horizontal pass over the rows the vertical pass needs, then the vertical pass, each rounding
// to uint8. Pillow skips the horizontal pass when the width does not change; a mirrored view
// still runs it, with the identity weights (one tap of 1 << kPrecisionBits: exact).
torch::Tensor pil_resample(const View& in, int64_t out_h, int64_t out_w, bool mirror) {
  const int64_t C = in.channels;
  const bool need_h = out_w != in.width || mirror, need_v = out_h != in.height;
  torch::Tensor out = torch::empty({C, out_h, out_w}, torch::kUInt8);
  uint8_t* dst = out.data_ptr<uint8_t>();
  if (!need_h && !need_v) {
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < out_h; ++y)
        for (int64_t x = 0; x < out_w; ++x) dst[(c * out_h + y) * out_w + x] = in.at(c, y, x);
    return out;
  }
  Coefficients cv;
  int64_t row_first = 0, row_last = in.height;
  if (need_v) {
    cv = bilinear_coefficients(in.height, out_h);
    row_first = cv.first[0];
    row_last = cv.first[size_t(out_h - 1)] + cv.count[size_t(out_h - 1)];
  }
  // After the horizontal pass, `mid` holds rows [row_first, row_last) of width out_w, planar.
  std::vector<uint8_t> mid_buf;
  View mid = in;
  if (need_h) {
    const RowKernel h = row_kernel(in.width, out_w, mirror);
    const int64_t rows = row_last - row_first;
    mid_buf.resize(size_t(C * rows * out_w));
    if (C == 3 && in.sc == 1 && in.sx == 3) {
      const HorizontalRgbRow pass = horizontal_rgb_row_for(h.K);
      for (int64_t y = 0; y < rows; ++y) {
        uint8_t* const planes[3] = {&mid_buf[size_t(y * out_w)], &mid_buf[size_t((rows + y) * out_w)],
                                    &mid_buf[size_t((2 * rows + y) * out_w)]};
        pass(in.base + (y + row_first) * in.sy, h, h.K, planes, out_w);
      }
    } else {
      const HorizontalRow pass = horizontal_row_for(h.K, in.sx);
      for (int64_t c = 0; c < C; ++c)
        for (int64_t y = 0; y < rows; ++y)
          pass(in.base + c * in.sc + (y + row_first) * in.sy, h, h.K, in.sx,
               &mid_buf[size_t((c * rows + y) * out_w)], out_w);
    }
    mid = View{mid_buf.data(), C, rows, out_w, rows * out_w, out_w, 1};
    if (need_v)
      for (auto& f : cv.first) f -= row_first;
  }
  if (!need_v) {
    std::memcpy(dst, mid.base, size_t(C * out_h * out_w));
    return out;
  }
  // Vertical pass, one output row at a time: accumulate whole source rows (integer sums,
  // so the order of accumulation does not change the result).
  std::vector<int32_t> acc(static_cast<size_t>(out_w));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t yy = 0; yy < out_h; ++yy) {
      std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
      const int32_t* k = &cv.k[size_t(yy * cv.ksize)];
      for (int64_t y = 0, n = cv.count[size_t(yy)]; y < n; ++y) {
        const uint8_t* src = mid.base + c * mid.sc + (cv.first[size_t(yy)] + y) * mid.sy;
        const int32_t w = k[y];
        if (mid.sx == 1) {
          for (int64_t x = 0; x < out_w; ++x) acc[size_t(x)] += int32_t(src[x]) * w;
        } else {
          for (int64_t x = 0; x < out_w; ++x) acc[size_t(x)] += int32_t(src[x * mid.sx]) * w;
        }
      }
      uint8_t* row = dst + (c * out_h + yy) * out_w;
      for (int64_t x = 0; x < out_w; ++x) row[x] = clip8(acc[size_t(x)]);
    }
  return out;
}

}  // namespace

CropBox random_resized_crop_box(int64_t height, int64_t width, double scale_lo, double scale_hi, double ratio_lo,
                                double ratio_hi, SampleRng& rng) {
  TORCH_CHECK(height > 0 && width > 0, "random_resized_crop_box: expected a non-empty image, got ", height, "x",
              width);
  TORCH_CHECK(scale_lo <= scale_hi && ratio_lo <= ratio_hi && scale_lo > 0 && ratio_lo > 0,
              "random_resized_crop_box: expected 0 < scale_lo <= scale_hi and 0 < ratio_lo <= ratio_hi, got scale (",
              scale_lo, ", ", scale_hi, ") ratio (", ratio_lo, ", ", ratio_hi, ")");
  const double area = double(height) * double(width);
  const double log_lo = std::log(ratio_lo), log_hi = std::log(ratio_hi);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale_lo, scale_hi);
    const double aspect_ratio = std::exp(rng.uniform(log_lo, log_hi));
    const int64_t w = py_round(std::sqrt(target_area * aspect_ratio));
    const int64_t h = py_round(std::sqrt(target_area / aspect_ratio));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int64_t i = rng.randint(0, height - h + 1);
      const int64_t j = rng.randint(0, width - w + 1);
      return {i, j, h, w};
    }
  }
  // Fallback to the central crop.
  const double in_ratio = double(width) / double(height);
  int64_t w = width, h = height;
  if (in_ratio < std::min(ratio_lo, ratio_hi)) {
    h = py_round(double(w) / std::min(ratio_lo, ratio_hi));
  } else if (in_ratio > std::max(ratio_lo, ratio_hi)) {
    w = py_round(double(h) * std::max(ratio_lo, ratio_hi));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

torch::Tensor resized_crop(const torch::Tensor& img_u8, const CropBox& box, int64_t out_h, int64_t out_w,
                           bool mirror) {
  check_image(img_u8, "resized_crop");
  const int64_t C = img_u8.size(0), H = img_u8.size(1), W = img_u8.size(2);
  TORCH_CHECK(box.top >= 0 && box.left >= 0 && box.height > 0 && box.width > 0 && box.top + box.height <= H &&
                  box.left + box.width <= W,
              "resized_crop: expected a box inside the ", H, "x", W, " image, got (i ", box.top, ", j ", box.left,
              ", h ", box.height, ", w ", box.width, ")");
  TORCH_CHECK(out_h > 0 && out_w > 0, "resized_crop: expected a positive output size, got ", out_h, "x", out_w);
  // With `mirror` the box is in the flipped image: columns [W - left - w, W - left) here.
  const int64_t left = mirror ? W - box.left - box.width : box.left;
  // Pillow's Image.resize returns a copy when the size does not change (no filter pass; the
  // triangle filter at scale 1 is the identity anyway), which also makes fashion-lt's 56x56
  // canvases pass its Resize((56, 56)) untouched.
  if (box.height == out_h && box.width == out_w) {
    const torch::Tensor crop = img_u8.slice(1, box.top, box.top + out_h).slice(2, left, left + out_w);
    return mirror ? crop.flip({2}) : crop.contiguous();
  }
  // Any positive strides are read in place: the loader's decoders hand over [H, W, C] pixels
  // seen as [C, H, W] (no transposing copy).
  const bool positive = img_u8.stride(0) > 0 && img_u8.stride(1) > 0 && img_u8.stride(2) > 0;
  const torch::Tensor img = positive ? img_u8 : img_u8.contiguous();
  const uint8_t* base = img.data_ptr<uint8_t>() + box.top * img.stride(1) + left * img.stride(2);
  const View v{base, C, box.height, box.width, img.stride(0), img.stride(1), img.stride(2)};
  return pil_resample(v, out_h, out_w, mirror);
}

torch::Tensor resize(const torch::Tensor& img_u8, int64_t out_h, int64_t out_w) {
  check_image(img_u8, "resize");
  return resized_crop(img_u8, CropBox{0, 0, img_u8.size(1), img_u8.size(2)}, out_h, out_w);
}

std::pair<int64_t, int64_t> shorter_side_size(int64_t height, int64_t width, int64_t size) {
  TORCH_CHECK(size > 0 && height > 0 && width > 0, "shorter_side_size: expected positive sizes, got ", height, "x",
              width, " -> ", size);
  const int64_t shorter = std::min(height, width), longer = std::max(height, width);
  const auto new_long = static_cast<int64_t>(double(size) * double(longer) / double(shorter));
  return width <= height ? std::make_pair(new_long, size) : std::make_pair(size, new_long);
}

torch::Tensor hflip(const torch::Tensor& img_u8) {
  check_image(img_u8, "hflip");
  return img_u8.flip({2});
}

torch::Tensor center_crop(const torch::Tensor& img_u8, int64_t h, int64_t w) {
  check_image(img_u8, "center_crop");
  TORCH_CHECK(h > 0 && w > 0, "center_crop: expected a positive size, got ", h, "x", w);
  torch::Tensor img = img_u8;
  int64_t H = img.size(1), W = img.size(2);
  if (w > W || h > H) {
    const int64_t left = w > W ? (w - W) / 2 : 0, right = w > W ? (w - W + 1) / 2 : 0;
    const int64_t top = h > H ? (h - H) / 2 : 0, bottom = h > H ? (h - H + 1) / 2 : 0;
    torch::Tensor padded = torch::zeros({img.size(0), H + top + bottom, W + left + right}, torch::kUInt8);
    padded.slice(1, top, top + H).slice(2, left, left + W).copy_(img);
    img = padded;
    H = img.size(1);
    W = img.size(2);
  }
  const int64_t top = py_round(double(H - h) / 2.0), left = py_round(double(W - w) / 2.0);
  return img.slice(1, top, top + h).slice(2, left, left + w).contiguous();
}

torch::Tensor gray_to_rgb(const torch::Tensor& img_u8) {
  check_image(img_u8, "gray_to_rgb");
  TORCH_CHECK(img_u8.size(0) == 1 || img_u8.size(0) == 3, "gray_to_rgb: expected 1 or 3 channels, got ",
              img_u8.sizes());
  return img_u8.size(0) == 3 ? img_u8 : img_u8.repeat({3, 1, 1});
}

torch::Tensor rgb_to_gray(const torch::Tensor& img_u8) {
  check_image(img_u8, "rgb_to_gray");
  TORCH_CHECK(img_u8.size(0) == 1 || img_u8.size(0) == 3, "rgb_to_gray: expected 1 or 3 channels, got ",
              img_u8.sizes());
  if (img_u8.size(0) == 1) return img_u8;
  const torch::Tensor src = img_u8.contiguous();
  const int64_t hw = src.size(1) * src.size(2);
  torch::Tensor out = torch::empty({1, src.size(1), src.size(2)}, torch::kUInt8);
  const uint8_t *r = src.data_ptr<uint8_t>(), *g = r + hw, *b = g + hw;
  uint8_t* d = out.data_ptr<uint8_t>();
  // Pillow's rgb2l (Convert.c): ITU-R 601-2 luma in 16-bit fixed point, rounded.
  for (int64_t i = 0; i < hw; ++i)
    d[i] = static_cast<uint8_t>((uint32_t(r[i]) * 19595 + uint32_t(g[i]) * 38470 + uint32_t(b[i]) * 7471 + 0x8000) >> 16);
  return out;
}

namespace {

// `out` (allocated when undefined) checked as the float32, contiguous output of `img_u8`'s sizes.
torch::Tensor float_output(const torch::Tensor& img_u8, torch::Tensor out, const char* fn) {
  if (!out.defined()) out = torch::empty(img_u8.sizes(), torch::kFloat32);
  TORCH_CHECK(out.scalar_type() == torch::kFloat32 && out.is_contiguous() && out.sizes() == img_u8.sizes(), fn,
              ": expected a contiguous float output of ", img_u8.sizes(), ", got ", out.sizes());
  return out;
}

}  // namespace

torch::Tensor to_normalized_float(const torch::Tensor& img_u8, const std::vector<double>& mean,
                                  const std::vector<double>& std, torch::Tensor out) {
  check_image(img_u8, "to_normalized_float");
  const int64_t C = img_u8.size(0), HW = img_u8.size(1) * img_u8.size(2);
  TORCH_CHECK((mean.size() == 1 || int64_t(mean.size()) == C) && mean.size() == std.size(),
              "to_normalized_float: expected 1 or ", C, " mean/std values, got ", mean.size(), "/", std.size());
  out = float_output(img_u8, std::move(out), "to_normalized_float");
  const torch::Tensor src = img_u8.contiguous();
  const uint8_t* s = src.data_ptr<uint8_t>();
  float* d = out.data_ptr<float>();
  for (int64_t c = 0; c < C; ++c) {
    // torchvision: img.float().div(255), then sub_(mean).div_(std) with float32 mean/std.
    const float m = static_cast<float>(mean[mean.size() == 1 ? 0 : size_t(c)]);
    const float sd = static_cast<float>(std[std.size() == 1 ? 0 : size_t(c)]);
    for (int64_t i = c * HW; i < (c + 1) * HW; ++i) d[i] = (static_cast<float>(s[i]) / 255.0f - m) / sd;
  }
  return out;
}

torch::Tensor to_scale_shifted_float(const torch::Tensor& img_u8, double scale, double shift, torch::Tensor out) {
  TORCH_CHECK(img_u8.defined() && img_u8.scalar_type() == torch::kUInt8, "to_scale_shifted_float: expected a uint8 "
              "tensor, got ", img_u8.defined() ? img_u8.sizes() : c10::IntArrayRef{});
  out = float_output(img_u8, std::move(out), "to_scale_shifted_float");
  const torch::Tensor src = img_u8.contiguous();
  const uint8_t* s = src.data_ptr<uint8_t>();
  float* d = out.data_ptr<float>();
  const float a = static_cast<float>(scale), b = static_cast<float>(shift);
  // The product and the difference in separate loops over each chunk, so that no compiler can
  // contract them into a fused multiply-add (which would round once, not twice).
  constexpr int64_t kChunk = 1024;  // stays in L1 between the two loops
  const int64_t n = src.numel();
  for (int64_t lo = 0; lo < n; lo += kChunk) {
    const int64_t hi = std::min(n, lo + kChunk);
    for (int64_t i = lo; i < hi; ++i) d[i] = static_cast<float>(s[i]) * a;
    for (int64_t i = lo; i < hi; ++i) d[i] -= b;
  }
  return out;
}

}  // namespace edge::data
