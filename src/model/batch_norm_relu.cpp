#include "edge/model/batch_norm_relu.h"

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "edge/common/cpu_features.h"

namespace edge::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rows per statistics block: the fp32 partial sums of a block go into fp64 totals, and the
// blocks (not the threads) fix the summation order, so results do not depend on threads.
constexpr int64_t kRowsPerBlock = 64;

namespace base {
#include "batch_norm_relu_kernels.inc"
}  // namespace base

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EDGE_BN_AVX512 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi2")
namespace avx512 {
#include "batch_norm_relu_kernels.inc"
}  // namespace avx512
#pragma GCC pop_options
#endif

std::atomic<bool> portable_only{false};  // use_portable_batch_norm_relu_kernels()

// Whether this CPU runs the AVX-512 copy of the kernels (the CPU is checked once).
bool use_avx512() {
#ifdef EDGE_BN_AVX512
  // cpu_features(): the hardware, capped by DNNL_MAX_CPU_ISA / ATEN_CPU_CAPABILITY.
  return cpu_features().avx512 && !portable_only.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

#ifdef EDGE_BN_AVX512
#define EDGE_BN_DISPATCH(fn, ...) (use_avx512() ? avx512::fn(__VA_ARGS__) : base::fn(__VA_ARGS__))
#else
#define EDGE_BN_DISPATCH(fn, ...) base::fn(__VA_ARGS__)
#endif

// The layout both kernels walk: rows of C contiguous channels.
bool rows_layout(const torch::Tensor& t) {
  if (t.dim() == 2) return t.is_contiguous();
  return t.dim() == 4 && t.is_contiguous(torch::MemoryFormat::ChannelsLast);
}

torch::Tensor as_rows_layout(const torch::Tensor& t) {
  return t.dim() == 4 ? t.contiguous(torch::MemoryFormat::ChannelsLast) : t.contiguous();
}

template <typename S>
const S* cptr(const torch::Tensor& t) {
  return reinterpret_cast<const S*>(t.data_ptr());
}
template <typename S>
S* mptr(const torch::Tensor& t) {
  return reinterpret_cast<S*>(t.data_ptr());
}

int64_t num_blocks(int64_t rows) { return (rows + kRowsPerBlock - 1) / kRowsPerBlock; }

// Per-block fp32 partials -> fp64 totals, in block order.
void sum_blocks(const std::vector<float>& partial, int64_t blocks, int64_t C, std::vector<double>& total) {
  total.assign(C, 0.0);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t c = 0; c < C; ++c) total[c] += partial[b * C + c];
}

template <typename S>
void forward_kernel(const torch::Tensor& x, const torch::Tensor& res, const torch::Tensor& y, int64_t rows, int64_t C,
                    const float* weight, const float* bias, double eps, float* mean_out, float* invstd_out,
                    std::vector<double>& var_out) {
  const S* xp = cptr<S>(x);
  const int64_t blocks = num_blocks(rows);
  // Shifting by the first row keeps E[(x-k)^2] - E[x-k]^2 accurate when |mean| >> std.
  std::vector<float> shift(C);
  for (int64_t c = 0; c < C; ++c) shift[c] = base::to_float(xp[c]);
  std::vector<float> ps(blocks * C), pss(blocks * C);
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      EDGE_BN_DISPATCH(block_moments<S>, xp, b * kRowsPerBlock, std::min(rows, (b + 1) * kRowsPerBlock), C,
                       shift.data(), ps.data() + b * C, pss.data() + b * C);
  });
  std::vector<double> s, ss;
  sum_blocks(ps, blocks, C, s);
  sum_blocks(pss, blocks, C, ss);
  std::vector<float> scale(C), offset(C);
  var_out.resize(C);
  for (int64_t c = 0; c < C; ++c) {
    const double m = s[c] / double(rows);
    const double var = std::max(ss[c] / double(rows) - m * m, 0.0);
    const double mean = m + shift[c];
    const double invstd = 1.0 / std::sqrt(var + eps);
    mean_out[c] = float(mean);
    invstd_out[c] = float(invstd);
    var_out[c] = var;
    scale[c] = float(invstd * weight[c]);
    offset[c] = float(bias[c] - mean * invstd * weight[c]);
  }
  const S* rp = res.defined() ? cptr<S>(res) : nullptr;
  S* yp = mptr<S>(y);
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    const int64_t r0 = b0 * kRowsPerBlock, r1 = std::min(rows, b1 * kRowsPerBlock);
    EDGE_BN_DISPATCH(normalise_rows<S>, xp, rp, yp, r0, r1, C, scale.data(), offset.data());
  });
}

template <typename S>
void backward_kernel(const torch::Tensor& gy, const torch::Tensor& y, const torch::Tensor& x, const torch::Tensor& gx,
                     const torch::Tensor& gr, int64_t rows, int64_t C, const float* weight, const float* mean,
                     const float* invstd, float* gweight, float* gbias) {
  const S *gyp = cptr<S>(gy), *yp = cptr<S>(y), *xp = cptr<S>(x);
  const int64_t blocks = num_blocks(rows);
  std::vector<float> psg(blocks * C), psgx(blocks * C);
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      EDGE_BN_DISPATCH(block_grad_sums<S>, gyp, yp, xp, b * kRowsPerBlock, std::min(rows, (b + 1) * kRowsPerBlock), C,
                       mean, psg.data() + b * C, psgx.data() + b * C);
  });
  std::vector<double> sg, sgx;
  sum_blocks(psg, blocks, C, sg);
  sum_blocks(psgx, blocks, C, sgx);
  // dx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)), xhat = (x - mean) * invstd,
  // written as a * g + p * x + q per channel.
  std::vector<float> a(C), p(C), q(C);
  for (int64_t c = 0; c < C; ++c) {
    const double is = invstd[c];
    const double ac = double(weight[c]) * is;
    const double k = is * is * sgx[c] / double(rows);
    a[c] = float(ac);
    p[c] = float(-ac * k);
    q[c] = float(ac * (k * mean[c] - sg[c] / double(rows)));
    gweight[c] = float(sgx[c] * is);
    gbias[c] = float(sg[c]);
  }
  S* gxp = mptr<S>(gx);
  S* grp = gr.defined() ? mptr<S>(gr) : nullptr;
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    const int64_t r0 = b0 * kRowsPerBlock, r1 = std::min(rows, b1 * kRowsPerBlock);
    EDGE_BN_DISPATCH(input_grad_rows<S>, gyp, yp, xp, gxp, grp, r0, r1, C, a.data(), p.data(), q.data());
  });
}

class BatchNormReLUFunction : public torch::autograd::Function<BatchNormReLUFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& residual,
                               const torch::Tensor& weight, const torch::Tensor& bias, torch::Tensor running_mean,
                               torch::Tensor running_var, double momentum, double eps) {
    const int64_t C = x.size(1);
    const int64_t rows = x.numel() / C;
    auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    torch::Tensor y = torch::empty_like(x);
    torch::Tensor mean = torch::empty({C}, f32), invstd = torch::empty({C}, f32);
    const torch::Tensor w = weight.to(torch::kFloat32).contiguous(), b = bias.to(torch::kFloat32).contiguous();
    // No residual arrives as an empty tensor: autograd::Function cannot take undefined inputs.
    const bool with_residual = residual.numel() > 0;
    const torch::Tensor res = with_residual ? residual : torch::Tensor();
    std::vector<double> var;
    if (x.scalar_type() == torch::kBFloat16)
      forward_kernel<uint16_t>(x, res, y, rows, C, w.data_ptr<float>(), b.data_ptr<float>(), eps,
                               mean.data_ptr<float>(), invstd.data_ptr<float>(), var);
    else
      forward_kernel<float>(x, res, y, rows, C, w.data_ptr<float>(), b.data_ptr<float>(), eps, mean.data_ptr<float>(),
                            invstd.data_ptr<float>(), var);
    {
      torch::NoGradGuard no_grad;
      torch::Tensor unbiased = torch::tensor(var, torch::TensorOptions().dtype(torch::kFloat64))
                                   .mul_(double(rows) / double(std::max<int64_t>(rows - 1, 1)));
      running_mean.mul_(1.0 - momentum).add_(mean.to(running_mean.scalar_type()), momentum);
      running_var.mul_(1.0 - momentum).add_(unbiased.to(running_var.scalar_type()), momentum);
    }
    ctx->save_for_backward({x, y, weight, mean, invstd});
    ctx->saved_data["residual"] = with_residual;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &y = saved[1], &weight = saved[2], &mean = saved[3], &invstd = saved[4];
    const bool with_residual = ctx->saved_data["residual"].toBool();
    torch::Tensor gy = as_rows_layout(grads[0].to(x.scalar_type()));
    const int64_t C = x.size(1);
    const int64_t rows = x.numel() / C;
    torch::Tensor gx = torch::empty_like(x);
    torch::Tensor gr = with_residual ? torch::empty_like(x) : torch::Tensor();
    const torch::Tensor w = weight.to(torch::kFloat32).contiguous();
    torch::Tensor gw = torch::empty({C}, torch::TensorOptions().dtype(torch::kFloat32));
    torch::Tensor gb = torch::empty({C}, torch::TensorOptions().dtype(torch::kFloat32));
    if (x.scalar_type() == torch::kBFloat16)
      backward_kernel<uint16_t>(gy, y, x, gx, gr, rows, C, w.data_ptr<float>(), mean.data_ptr<float>(),
                                invstd.data_ptr<float>(), gw.data_ptr<float>(), gb.data_ptr<float>());
    else
      backward_kernel<float>(gy, y, x, gx, gr, rows, C, w.data_ptr<float>(), mean.data_ptr<float>(),
                             invstd.data_ptr<float>(), gw.data_ptr<float>(), gb.data_ptr<float>());
    return {gx, gr, gw.to(weight.scalar_type()), gb.to(weight.scalar_type()), {}, {}, {}, {}};
  }
};

}  // namespace

torch::Tensor fused_batch_norm_relu(const torch::Tensor& x, const torch::Tensor& residual, const torch::Tensor& weight,
                                    const torch::Tensor& bias, torch::Tensor running_mean, torch::Tensor running_var,
                                    double momentum, double eps) {
  TORCH_CHECK(x.device().is_cpu() && (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16),
              "fused_batch_norm_relu: expected a CPU float or bfloat16 tensor, got ", x.device(), " ", x.scalar_type());
  TORCH_CHECK(rows_layout(x),
              "fused_batch_norm_relu: expected x as 2-D contiguous [rows, C] or 4-D channels-last, got ", x.sizes(),
              " with strides ", x.strides());
  TORCH_CHECK(x.numel() > 0, "fused_batch_norm_relu: expected a non-empty input, got ", x.sizes());
  const int64_t C = x.size(1);
  TORCH_CHECK(x.numel() / C > 1, "fused_batch_norm_relu: expected more than 1 value per channel when training, got ",
              x.sizes());
  TORCH_CHECK(!residual.defined() || (residual.sizes() == x.sizes() && residual.scalar_type() == x.scalar_type() &&
                                      residual.device() == x.device() && rows_layout(residual)),
              "fused_batch_norm_relu: expected the residual with x's shape, dtype and layout ", x.sizes(), ", got ",
              residual.defined() ? residual.sizes() : torch::IntArrayRef{});
  for (const torch::Tensor* t :
       std::initializer_list<const torch::Tensor*>{&weight, &bias, &running_mean, &running_var})
    TORCH_CHECK(t->dim() == 1 && t->size(0) == C && t->device().is_cpu() && t->is_floating_point(),
                "fused_batch_norm_relu: expected per-channel CPU parameters of size [", C, "], got ", t->sizes());
  return BatchNormReLUFunction::apply(x, residual.defined() ? residual : torch::empty({0}, x.options()), weight, bias,
                                      running_mean, running_var, momentum, eps);
}

void use_portable_batch_norm_relu_kernels(bool portable) { portable_only = portable; }

bool batch_norm_relu_fusable(const torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x,
                             const torch::Tensor& residual) {
  const auto& o = bn.options;
  if (!bn.is_training() || !o.affine() || !o.track_running_stats()) return false;
  if (!x.device().is_cpu() || (x.scalar_type() != torch::kFloat32 && x.scalar_type() != torch::kBFloat16)) return false;
  if (x.dim() != 4 || !rows_layout(x) || x.numel() / std::max<int64_t>(x.size(1), 1) <= 1) return false;
  // A [N, C, 1, 1] or [N, 1, H, W] tensor is "channels-last" and "contiguous" at once: only the
  // unambiguously channels-last ones take the fused path, so NCHW models keep LibTorch's kernels.
  if (x.is_contiguous()) return false;
  if (residual.defined() &&
      (residual.sizes() != x.sizes() || residual.scalar_type() != x.scalar_type() || !rows_layout(residual)))
    return false;
  return bn.weight.defined() && bn.running_mean.defined() && bn.running_var.defined();
}

torch::Tensor batch_norm_relu(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x, const torch::Tensor& residual) {
  if (!batch_norm_relu_fusable(bn, x, residual)) {
    torch::Tensor out = bn.forward(x);
    if (residual.defined()) out += residual;
    return out.relu_();
  }
  // What BatchNormImplBase::forward does before batch_norm: count the batch, pick the momentum.
  double momentum = 0.0;
  {
    torch::NoGradGuard no_grad;
    bn.num_batches_tracked += 1;
    momentum = bn.options.momentum().has_value() ? *bn.options.momentum() : 1.0 / bn.num_batches_tracked.item<double>();
  }
  return fused_batch_norm_relu(x, residual, bn.weight, bn.bias, bn.running_mean, bn.running_var, momentum,
                               bn.options.eps());
}

}  // namespace edge::model
