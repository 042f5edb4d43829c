// Weight gradient of strided convolutions: LibTorch's kernel (oneDNN) vs the im2col + GEMM
// route of include/edge/model/gemm_weight_grad_conv.h, on the same tensors, interleaved.
//
// For each shape: the milliseconds of dW = convolution_backward(..., mask {0, 1, 0}) and of
// conv2d_weight_grad_gemm(), each call timed alone after a write of 64 MiB (so neither finds
// its inputs in cache, as in a training step), alternating the two, `--repeats` times; the
// table shows the median [min-max] of each, their ratio (> 1: the GEMM is faster), whether
// edge::model::conv2d() picks the GEMM for the shape, and the largest difference between the
// two results relative to the largest |dW| (both bf16). The shapes are the strided
// convolutions of small_resnet (fashion-lt, batch 256) and of ResNet-18 at 224x224 (batch 32).
// Run it on an idle machine; on a shared VM compare the ratios rather than the times.
//
//   build/bench/bench_conv_weight_grad [--threads 2] [--repeats 15] [--dtype bf16|fp32]
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/ops/convolution_backward.h>
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/model/compute_mode.h"
#include "edge/model/gemm_weight_grad_conv.h"
#include "support/peer_process.h"
#include "support/sample_stats.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  const char* model;
  int64_t n, c, o, h, k, stride, pad;
};

constexpr Shape kShapes[] = {
    {"small_resnet layer1.0.conv1", 256, 16, 32, 28, 3, 2, 1},
    {"small_resnet layer1.0.downsample", 256, 16, 32, 28, 1, 2, 0},
    {"small_resnet layer2.0.conv1", 256, 32, 64, 14, 3, 2, 1},
    {"small_resnet layer2.0.downsample", 256, 32, 64, 14, 1, 2, 0},
    {"small_resnet layer3.0.conv1", 256, 64, 128, 7, 3, 2, 1},
    {"small_resnet layer3.0.downsample", 256, 64, 128, 7, 1, 2, 0},
    {"resnet18 layer2.0.conv1", 32, 64, 128, 56, 3, 2, 1},
    {"resnet18 layer3.0.conv1", 32, 128, 256, 28, 3, 2, 1},
    {"resnet18 layer4.0.conv1", 32, 256, 512, 14, 3, 2, 1},
    {"resnet18 layer4.0.downsample", 32, 256, 512, 14, 1, 2, 0},
};

struct Options {
  int threads = 2;
  int repeats = 15;
  std::string dtype = "bf16";
};

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Weight gradient of strided convolutions: LibTorch (oneDNN) vs im2col + GEMM", "bench_conv_weight_grad"};
  app.add_option("--threads", o.threads, "intra-op threads")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--repeats", o.repeats, "timed calls per side and shape")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--dtype", o.dtype, "bf16 or fp32")->check(CLI::IsMember({"bf16", "fp32"}))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const torch::ScalarType dtype = o.dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32;
  torch::set_num_interop_threads(1);
  torch::set_num_threads(o.threads);
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  const auto cl = torch::MemoryFormat::ChannelsLast;
  torch::Tensor flush = torch::zeros({64 << 20}, torch::kUInt8);

  std::cout << fmt::format("Weight gradient of strided convolutions: LibTorch (oneDNN) vs im2col + GEMM "
                           "(bench/bench_conv_weight_grad)\nCPU: {}; {} threads; LibTorch {}; {}, channels-last; "
                           "median [min-max] of {} calls each, interleaved, caches flushed before each\n\n",
                           edge::bench::cpu_name(), o.threads, TORCH_VERSION, o.dtype,
                           o.repeats);
  std::cout << "| convolution | input | kernel | output | LibTorch ms | GEMM ms | ratio | conv2d() takes the GEMM | max diff |\n"
               "|---|---|---|---|---:|---:|---:|---|---:|\n";
  for (const Shape& s : kShapes) {
    const torch::Tensor x = torch::randn({s.n, s.c, s.h, s.h}).to(dtype).contiguous(cl);
    const torch::Tensor w = torch::randn({s.o, s.c, s.k, s.k}).to(dtype).contiguous(cl);
    const std::vector<int64_t> stride = {s.stride, s.stride}, pad = {s.pad, s.pad};
    const torch::Tensor gy = torch::randn_like(at::conv2d(x, w, {}, stride, pad)).contiguous(cl);
    const auto libtorch = [&] {
      return std::get<1>(at::convolution_backward(gy, x, w, c10::nullopt, stride, pad, {1, 1}, false, {0, 0}, 1,
                                                  {false, true, false}));
    };
    const auto gemm = [&] { return edge::model::conv2d_weight_grad_gemm(gy, x, w.sizes(), stride, pad); };
    const torch::Tensor a = libtorch(), b = gemm();  // warm-up, and the results compared
    const double diff = (a.to(torch::kFloat32) - b.to(torch::kFloat32)).abs().max().item<double>() /
                        a.to(torch::kFloat32).abs().max().item<double>();
    std::vector<double> t_lib, t_gemm;
    for (int r = 0; r < o.repeats; ++r) {
      for (int side = 0; side < 2; ++side) {
        flush.add_(1);
        const auto t0 = Clock::now();
        (side == 0 ? libtorch() : gemm());
        (side == 0 ? t_lib : t_gemm).push_back(ms_since(t0));
      }
    }
    const auto sl = edge::bench::sample_stats(t_lib), sg = edge::bench::sample_stats(t_gemm);
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(s.c, s.o, s.k).stride(s.stride).padding(s.pad).bias(false));
    bool picks = false;
    {
      torch::AutoGradMode grad(true);
      const edge::model::AutocastScope autocast(dtype == torch::kBFloat16);  // as in training
      picks = edge::model::gemm_weight_grad_applies(*conv, x);
    }
    std::cout << fmt::format("| {} | {}x{}x{}x{} | {}x{} s{} p{} | {}x{} | {:.2f} [{:.2f}-{:.2f}] | {:.2f} [{:.2f}-{:.2f}] | "
                             "{:.2f} | {} | {:.1e} |\n",
                             s.model, s.n, s.c, s.h, s.h, s.k, s.k, s.stride, s.pad, gy.size(2), gy.size(3), sl.median,
                             sl.lo, sl.hi, sg.median, sg.lo, sg.hi, sl.median / sg.median, picks ? "yes" : "no", diff);
  }
  return 0;
}
