#include "edge/dist/communicator.h"

#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(EDGE_WITH_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/torch.h>

#include "edge/common/error.h"

namespace edge::dist {

namespace {

int env_int(const char* name, int fallback, bool required) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    if (required) throw UsageError(fmt::format("environment variable {} is not set (needed when WORLD_SIZE > 1)", name));
    return fallback;
  }
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 1 << 30)
    throw UsageError(fmt::format("environment variable {}: expected a non-negative integer, got '{}'", name, v));
  return static_cast<int>(x);
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

LaunchEnv launch_env_from_environment() {
  LaunchEnv env;
  env.world_size = env_int("WORLD_SIZE", 1, false);
  if (env.world_size < 1) throw UsageError("environment variable WORLD_SIZE: expected at least 1, got 0");
  if (!env.distributed()) return env;
  env.rank = env_int("RANK", 0, true);
  if (env.rank >= env.world_size)
    throw UsageError(fmt::format("environment variable RANK: expected 0..{} for WORLD_SIZE {}, got {}",
                                 env.world_size - 1, env.world_size, env.rank));
  env.local_rank = env_int("LOCAL_RANK", env.rank, false);
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') env.master_addr = a;
  env.master_port = env_int("MASTER_PORT", 0, true);
  if (env.master_port < 1 || env.master_port > 65535)
    throw UsageError(fmt::format("environment variable MASTER_PORT: expected a port 1..65535, got {}", env.master_port));
  return env;
}

struct Communicator::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#if defined(EDGE_WITH_NCCL)
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  torch::Device device{torch::kCPU};

  // Gloo works on host tensors here: CUDA tensors are staged through the CPU.
  bool staged() const {
#if defined(EDGE_WITH_NCCL)
    if (nccl) return false;
#endif
    return !device.is_cpu();
  }
  template <class F>
  auto run(F&& op) {
#if defined(EDGE_WITH_NCCL)
    if (nccl) return op(*nccl);
#endif
    return op(*gloo);
  }
};

Communicator::Communicator(std::unique_ptr<Impl> impl, int rank, int world_size, std::string backend,
                           std::chrono::milliseconds timeout)
    : impl_(std::move(impl)), rank_(rank), world_size_(world_size), backend_(std::move(backend)), timeout_(timeout) {}

Communicator::~Communicator() = default;

std::shared_ptr<Communicator> Communicator::connect(const LaunchEnv& env, torch::Device device,
                                                    std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  impl->device = device;
  std::string backend = "gloo";
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(env.master_port);
    opts.isServer = env.rank == 0;
    opts.numWorkers = static_cast<std::size_t>(env.world_size);
    opts.waitWorkers = true;
    opts.timeout = timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
#if defined(EDGE_WITH_NCCL)
    if (device.is_cuda()) {
      auto nccl_opts = c10d::ProcessGroupNCCL::Options::create();
      nccl_opts->timeout = timeout;
      impl->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, env.rank, env.world_size, nccl_opts);
      backend = "nccl";
    }
#endif
    // Gloo always exists: it is the CPU backend and the fallback for CUDA without NCCL.
    auto gloo_opts = c10d::ProcessGroupGloo::Options::create(timeout);
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
      gloo_opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (env.master_addr == "127.0.0.1" || env.master_addr == "localhost")
      gloo_opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      gloo_opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, gloo_opts);
  } catch (const std::exception& e) {
    throw CommError(fmt::format("rank {} of {}: could not join the process group at {}:{} within {} s: {}", env.rank,
                                env.world_size, env.master_addr, env.master_port, timeout.count() / 1000,
                                first_line(e.what())));
  }
  return std::shared_ptr<Communicator>(
      new Communicator(std::move(impl), env.rank, env.world_size, backend, timeout));
}

void Communicator::fail(const char* op, const std::exception& e) const {
  std::string what = e.what();
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) what = c10->what_without_backtrace();
  throw CommError(fmt::format("rank {} of {}: {} failed (another process exited, the network failed, or "
                              "{} s passed): {}",
                              rank_, world_size_, op, timeout_.count() / 1000, first_line(what)));
}

void Communicator::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return;
  try {
    std::vector<torch::Tensor> io;
    for (const auto& t : tensors) io.push_back(impl_->staged() ? t.cpu() : t);
    impl_->run([&](auto& pg) { return pg.allreduce(io); })->wait();
    for (size_t i = 0; i < tensors.size(); ++i)
      if (!io[i].is_same(tensors[i])) tensors[i].copy_(io[i]);
  } catch (const CommError&) {
    throw;
  } catch (const std::exception& e) {
    fail("all_reduce", e);
  }
}

torch::Tensor Communicator::all_gather(const torch::Tensor& tensor) {
  try {
    std::vector<torch::Tensor> in{(impl_->staged() ? tensor.cpu() : tensor).contiguous()};
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < world_size_; ++r) out[0].push_back(torch::empty_like(in[0]));
    impl_->run([&](auto& pg) { return pg.allgather(out, in); })->wait();
    return torch::cat(out[0]).to(tensor.device());
  } catch (const std::exception& e) {
    fail("all_gather", e);
  }
}

void Communicator::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  if (tensors.empty()) return;
  try {
    // One flat buffer: a broadcast per tensor would cost a round trip each.
    std::vector<torch::Tensor> flat;
    for (const auto& t : tensors) flat.push_back(t.detach().reshape({-1}).to(torch::kFloat64));
    std::vector<torch::Tensor> io{torch::cat(flat)};
    if (impl_->staged()) io[0] = io[0].cpu();
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    impl_->run([&](auto& pg) { return pg.broadcast(io, opts); })->wait();
    torch::NoGradGuard no_grad;
    int64_t offset = 0;
    for (auto& t : tensors) {
      const int64_t n = t.numel();
      t.copy_(io[0].slice(0, offset, offset + n).view(t.sizes()).to(t.device(), t.scalar_type()));
      offset += n;
    }
  } catch (const std::exception& e) {
    fail("broadcast", e);
  }
}

void Communicator::barrier() {
  try {
    impl_->run([&](auto& pg) { return pg.barrier(); })->wait();
  } catch (const std::exception& e) {
    fail("barrier", e);
  }
}

}  // namespace edge::dist
