#include "edge/train/data_parallel.h"

#include <string>

#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::train {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Global values of terms whose per-rank values `local` are to be combined with `weights`
// (1/W for a mean over equally sized shards, 1 for a sum): one all-reduce for all of them.
std::vector<double> reduce_values(const std::vector<torch::Tensor>& local, const std::vector<double>& weights,
                                  dist::Communicator& comm) {
  std::vector<torch::Tensor> parts;
  for (size_t i = 0; i < local.size(); ++i) parts.push_back(local[i].detach().to(torch::kFloat64).reshape({1}) * weights[i]);
  std::vector<torch::Tensor> io{torch::cat(parts)};  // on the logits' device (NCCL needs it there)
  comm.all_reduce_sum(io);
  const torch::Tensor host = io[0].cpu();
  return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
}

torch::Tensor scalar(double v) { return torch::tensor(v, torch::kFloat64); }

}  // namespace

std::pair<int64_t, int64_t> shard_range(int64_t n, int rank, int world) {
  TORCH_CHECK(world >= 1 && rank >= 0 && rank < world && n % world == 0, "shard_range: expected a batch of n = ",
              n, " divisible by world size ", world, " and 0 <= rank ", rank, " < world");
  const int64_t per = n / world;
  return {rank * per, (rank + 1) * per};
}

DataParallelLoss data_parallel_objective(Mode mode, const torch::Tensor& z_in, const torch::Tensor& y,
                                         const torch::Tensor& z_oe, const ObjectiveParams& p,
                                         dist::Communicator& comm) {
  const double w = comm.world_size();
  if (mode != Mode::Joint) {
    // Each term is a mean over equally sized shards (global = mean over ranks) except
    // OECC's two sums (global = sum over ranks); the surrogate weights them so.
    LossTerms local = compute_objective(mode, z_in, y, z_oe, p);
    std::vector<double> weights;
    torch::Tensor surrogate;
    if (mode == Mode::OECC) {
      weights = {1.0 / w, 1.0, 1.0};  // ce, conf_in, uniform_out
      surrogate = local.part("ce") / w + p.lambda_1 * local.part("conf_in") + p.lambda_2 * local.part("uniform_out");
    } else {
      weights.assign(local.parts.size(), 1.0 / w);
      surrogate = local.total / w;
    }
    std::vector<torch::Tensor> values{surrogate};
    for (const auto& part : local.parts) values.push_back(part.second);
    weights.insert(weights.begin(), 1.0);  // the surrogates sum to the global total
    const auto g = reduce_values(values, weights, comm);
    DataParallelLoss out;
    out.surrogate = surrogate;
    out.global.total = scalar(g[0]);
    for (size_t i = 0; i < local.parts.size(); ++i) out.global.parts.emplace_back(local.parts[i].first, scalar(g[i + 1]));
    return out;
  }

  // EDGE: L = BCE + alpha * conf + beta * gap with the gap over (every OE sample of the
  // global batch) x (the k lowest-energy ID samples of the global batch).
  const EdgeLossParams& e = p.edge;
  const int64_t b_local = z_in.size(0);
  check_bottom_k(e.k, b_local * comm.world_size(), "global ID batch size");
  const torch::Tensor bce = bce_loss(z_in, y).total;
  const EdgeEnergies local = edge_energies(z_in, z_oe);
  const int64_t o_global = z_oe.size(0) * comm.world_size();
  const torch::Tensor &conf = local.conf, &e_in = local.e_in, &e_oe = local.e_oe;
  torch::Tensor e_in_all, e_oe_all;
  {
    torch::NoGradGuard no_grad;
    e_in_all = comm.all_gather(e_in.detach());
    e_oe_all = comm.all_gather(e_oe.detach());
  }
  // The same selection on every rank: topk over the global batch in global order.
  const auto [tail_all, tail_idx] = torch::topk(e_in_all, e.k, /*dim=*/0, /*largest=*/false);
  const int64_t begin = comm.rank() * b_local;
  const torch::Tensor mine = (tail_idx >= begin).logical_and(tail_idx < begin + b_local);
  const torch::Tensor own_tail = e_in.index_select(0, tail_idx.masked_select(mine) - begin);
  // d gap / d E_oe(i) sums over the global tail, d gap / d E_tail(j) over the global OE
  // batch: each rank differentiates its own OE samples against the (constant) global
  // tail and its own tail samples against the (constant) global OE energies.
  const torch::Tensor gap_oe = energy_gap_pairs(e_oe, tail_all, e.margin).sum();
  const torch::Tensor gap_tail = energy_gap_pairs(e_oe_all, own_tail, e.margin).sum();
  const double pairs = double(o_global) * double(e.k);
  DataParallelLoss out;
  out.surrogate = bce / w + e.alpha * conf / w + e.beta * (gap_oe + gap_tail) / pairs;
  // Every (OE, tail) pair is counted once, by the rank holding its OE sample.
  const auto g = reduce_values({bce, conf, gap_oe}, {1.0 / w, 1.0 / w, 1.0 / pairs}, comm);
  out.global.total = scalar(g[0] + e.alpha * g[1] + e.beta * g[2]);
  out.global.parts = {{"bce", scalar(g[0])}, {"conf", scalar(g[1])}, {"gap", scalar(g[2])}};
  return out;
}

void all_reduce_gradients(const std::vector<torch::Tensor>& params, dist::Communicator& comm) {
  std::vector<torch::Tensor> grads;
  for (const auto& t : params) {
    if (!t.requires_grad()) continue;
    auto& g = t.mutable_grad();
    if (!g.defined()) g = torch::zeros_like(t);  // unused here, used elsewhere: every rank must send it
    grads.push_back(g);
  }
  if (grads.empty()) return;
  std::vector<torch::Tensor> flat;
  for (const auto& g : grads) flat.push_back(g.reshape({-1}));
  std::vector<torch::Tensor> io{torch::cat(flat)};
  comm.all_reduce_sum(io);
  int64_t offset = 0;
  for (auto& g : grads) {
    const int64_t n = g.numel();
    g.copy_(io[0].slice(0, offset, offset + n).view(g.sizes()));
    offset += n;
  }
}

void broadcast_module(torch::nn::Module& module, dist::Communicator& comm) {
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.parameters()) tensors.push_back(p);
  for (const auto& b : module.buffers()) tensors.push_back(b);
  torch::NoGradGuard no_grad;
  comm.broadcast(tensors, 0);
}

void average_batch_norm_statistics(torch::nn::Module& module, dist::Communicator& comm) {
  std::vector<torch::Tensor> stats;
  for (const auto& b : module.named_buffers())
    if (ends_with(b.key(), "running_mean") || ends_with(b.key(), "running_var")) stats.push_back(b.value());
  if (stats.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat;
  for (const auto& s : stats) flat.push_back(s.reshape({-1}).to(torch::kFloat64));
  std::vector<torch::Tensor> io{torch::cat(flat)};
  comm.all_reduce_sum(io);
  io[0] /= double(comm.world_size());
  int64_t offset = 0;
  for (auto& s : stats) {
    const int64_t n = s.numel();
    s.copy_(io[0].slice(0, offset, offset + n).view(s.sizes()).to(s.scalar_type()));
    offset += n;
  }
}

void freeze_batch_norm(torch::nn::Module& module) {
  for (const auto& m : module.modules(/*include_self=*/true))
    if (m->as<torch::nn::BatchNorm1d>() || m->as<torch::nn::BatchNorm2d>() || m->as<torch::nn::BatchNorm3d>())
      m->eval();
}

}  // namespace edge::train
