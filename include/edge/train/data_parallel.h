// Data-parallel training over several processes (one per device), equal to training in
// one process with the same global batch up to floating-point reduction order:
// - every process draws the same global batch (the same seeded shuffle, OE stream and
//   flip coins) and keeps its contiguous shard: rank r of W takes samples
//   [r*B/W, (r+1)*B/W) of the ID batch and likewise of the OE batch;
// - the loss is the global batch's: means are over the global batch, EDGE's bottom-k is
//   selected over the all-gathered ID energies of the global batch, and each rank's
//   surrogate loss back-propagates exactly its own samples' share, so the gradient
//   summed over ranks is the single-process gradient;
// - gradients are summed over ranks (one flat all-reduce) before the optimiser step, so
//   parameters and optimiser state stay identical on every rank.
// BatchNorm normalises with each rank's local batch (as PyTorch DDP without SyncBatchNorm);
// running statistics are averaged over ranks after every epoch. With --freeze_bn (BatchNorm
// in inference mode) no statistic depends on the batch and the equality above is exact up
// to reduction order.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "edge/dist/communicator.h"
#include "edge/train/objectives.h"

namespace edge::train {

// Where a Trainer runs: its device and, for data-parallel training, its process group.
struct Placement {
  torch::Device device = torch::kCPU;
  std::shared_ptr<dist::Communicator> comm;  // null: this process trains alone
  int rank() const { return comm ? comm->rank() : 0; }
  int world_size() const { return comm ? comm->world_size() : 1; }
};

// The contiguous shard [begin, end) of a global batch of n that rank `rank` of `world` trains on.
std::pair<int64_t, int64_t> shard_range(int64_t n, int rank, int world);

struct DataParallelLoss {
  LossTerms global;       // the loss and its terms over the global batch (values, identical on every rank)
  torch::Tensor surrogate;  // this rank's share: back-propagate it, then sum gradients over ranks
};

// The objective of `mode` over the global batch, given this rank's shard of the logits.
// Every rank must hold shards of equal size.
DataParallelLoss data_parallel_objective(Mode mode, const torch::Tensor& logits_in, const torch::Tensor& targets,
                                         const torch::Tensor& logits_oe, const ObjectiveParams& params,
                                         dist::Communicator& comm);

// Sums the gradients of `params` over ranks (one flat buffer, one all-reduce).
void all_reduce_gradients(const std::vector<torch::Tensor>& params, dist::Communicator& comm);

// Gives every rank rank 0's parameters and buffers.
void broadcast_module(torch::nn::Module& module, dist::Communicator& comm);

// Replaces every BatchNorm running mean and variance by its mean over ranks.
void average_batch_norm_statistics(torch::nn::Module& module, dist::Communicator& comm);

// Puts every BatchNorm layer in inference mode (running statistics, no updates): --freeze_bn.
void freeze_batch_norm(torch::nn::Module& module);

}  // namespace edge::train
