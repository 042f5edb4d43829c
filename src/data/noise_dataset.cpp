// Generated noise OOD / OE sets, decoded on demand and deterministic per image.
#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "edge/common/error.h"
#include "edge/data/readers.h"

namespace edge::data {

namespace {

// A portable standard normal (std::normal_distribution differs between libraries).
double standard_normal(std::mt19937_64& gen) {
  constexpr double kTwoPi = 6.283185307179586;
  const double u1 = (static_cast<double>(gen() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
  const double u2 = static_cast<double>(gen() >> 11) * 0x1.0p-53;          // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

double uniform01(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

class NoiseSource final : public ImageSource {
 public:
  NoiseSource(NoiseKind kind, int64_t count, int64_t side, uint64_t seed, std::string name)
      : kind_(kind), count_(count), side_(side), seed_(seed), name_(std::move(name)) {}
  int64_t size() const override { return count_; }
  std::string describe(int64_t index) const override { return fmt::format("{}[{}]", name_, index); }

  torch::Tensor load(int64_t index) const override {
    if (index < 0 || index >= count_)
      throw DataError(fmt::format("{}: image index {} out of range [0, {})", name_, index, count_));
    // splitmix-style mixing so neighbouring (seed, index) pairs give unrelated streams.
    uint64_t z = seed_ * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index) + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    std::mt19937_64 gen(z ^ (z >> 31));
    const int64_t n = 3 * side_ * side_;
    std::vector<double> v(static_cast<size_t>(n));
    switch (kind_) {
      case NoiseKind::uniform:
        for (auto& x : v) x = std::floor(uniform01(gen) * 256.0) / 255.0;
        break;
      case NoiseKind::gaussian:
        for (auto& x : v) x = std::clamp(0.5 + 0.25 * standard_normal(gen), 0.0, 1.0);
        break;
      case NoiseKind::blobs:
        for (auto& x : v) x = uniform01(gen) < 0.7 ? 1.0 : 0.0;
        v = blur(v);
        for (auto& x : v)
          if (x < 0.75) x = 0.0;
        break;
    }
    torch::Tensor out = torch::empty({3, side_, side_}, torch::kUInt8);
    auto* p = out.data_ptr<uint8_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(std::lround(std::clamp(v[static_cast<size_t>(i)], 0.0, 1.0) * 255.0));
    return out;
  }

 private:
  // Separable Gaussian blur, sigma 1.5, truncated at radius 4 px (~2.7 sigma: the weights
  // beyond are < 3e-2 of the centre's), mirror padding as scipy's gaussian_filter, per channel.
  std::vector<double> blur(const std::vector<double>& in) const {
    constexpr int kRadius = 4;
    constexpr double kSigma = 1.5;
    double k[2 * kRadius + 1], sum = 0;
    for (int i = -kRadius; i <= kRadius; ++i) sum += k[i + kRadius] = std::exp(-0.5 * i * i / (kSigma * kSigma));
    for (double& x : k) x /= sum;
    const int64_t s = side_;
    auto mirror = [s](int64_t i) {
      while (i < 0 || i >= s) i = i < 0 ? -i - 1 : 2 * s - i - 1;
      return i;
    };
    std::vector<double> tmp(in.size()), out(in.size());
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < s; ++y)
        for (int64_t x = 0; x < s; ++x) {
          double acc = 0;
          for (int d = -kRadius; d <= kRadius; ++d) acc += k[d + kRadius] * in[static_cast<size_t>((c * s + y) * s + mirror(x + d))];
          tmp[static_cast<size_t>((c * s + y) * s + x)] = acc;
        }
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < s; ++y)
        for (int64_t x = 0; x < s; ++x) {
          double acc = 0;
          for (int d = -kRadius; d <= kRadius; ++d) acc += k[d + kRadius] * tmp[static_cast<size_t>((c * s + mirror(y + d)) * s + x)];
          out[static_cast<size_t>((c * s + y) * s + x)] = acc;
        }
    return out;
  }

  NoiseKind kind_;
  int64_t count_, side_;
  uint64_t seed_;
  std::string name_;
};

}  // namespace

Dataset make_noise_dataset(NoiseKind kind, int64_t count, int64_t side, uint64_t seed, const std::string& name) {
  if (count <= 0 || side <= 0)
    throw UsageError(fmt::format("{}: expected a positive image count and side, got {} and {}", name, count, side));
  Dataset out;
  out.name = name;
  out.images = std::make_shared<NoiseSource>(kind, count, side, seed, name);
  return out;
}

}  // namespace edge::data
