// Data-parallel communication between training processes over PyTorch's c10d: a TCPStore
// rendezvous (torchrun's RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT) and one process
// group (Gloo; NCCL for CUDA tensors where LibTorch has it and EDGE_WITH_NCCL is on).
// c10d stays out of this header so that only src/dist needs its (and Gloo's) headers.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/types.h>

namespace edge::dist {

// A collective failed: a peer process died, the network broke, or the timeout passed
// (exit code 1). The message names this rank and the operation.
class CommError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The torchrun-style launch environment of this process.
struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;             // index among the processes of this machine (LOCAL_RANK, default RANK)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool distributed() const { return world_size > 1; }
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. Without WORLD_SIZE (or with
// WORLD_SIZE=1) the process trains alone. Throws UsageError naming the variable for a
// malformed or inconsistent value (a missing MASTER_PORT when WORLD_SIZE > 1, say).
LaunchEnv launch_env_from_environment();

class Communicator {
 public:
  // Joins the group: rank 0 serves the TCPStore on MASTER_PORT, every rank connects to it
  // and the process group forms. Waits at most `timeout` for the others; the same timeout
  // bounds every later collective. Collectives on CUDA tensors go through NCCL when built
  // with it, otherwise through Gloo via host copies.
  static std::shared_ptr<Communicator> connect(const LaunchEnv& env, torch::Device device,
                                               std::chrono::milliseconds timeout);
  ~Communicator();

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  const std::string& backend() const { return backend_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // In place: every tensor becomes the element-wise sum over ranks (identical bits on every rank).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  // The tensors of every rank concatenated along dim 0 in rank order; every rank must
  // pass the same shape.
  torch::Tensor all_gather(const torch::Tensor& tensor);
  // In place: every rank receives rank `root`'s values.
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  void barrier();

 private:
  struct Impl;
  Communicator(std::unique_ptr<Impl> impl, int rank, int world_size, std::string backend,
               std::chrono::milliseconds timeout);
  [[noreturn]] void fail(const char* op, const std::exception& e) const;

  std::unique_ptr<Impl> impl_;
  int rank_ = 0;
  int world_size_ = 1;
  std::string backend_;
  std::chrono::milliseconds timeout_;
};

}  // namespace edge::dist
