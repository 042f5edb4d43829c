// The pieces of data-parallel training that need no second process: the launch
// environment, --device / --device-id parsing and the batch shards.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <optional>

#include "edge/common/device.h"
#include "edge/common/error.h"
#include "edge/dist/communicator.h"
#include "edge/train/data_parallel.h"

namespace {

// Sets torchrun's variables for one test and restores them after.
class LaunchVars {
 public:
  explicit LaunchVars(const std::vector<std::pair<const char*, const char*>>& vars) {
    for (const char* n : kNames) {
      const char* v = std::getenv(n);
      saved_.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(n);
    }
    for (const auto& [n, v] : vars) ::setenv(n, v, 1);
  }
  ~LaunchVars() {
    for (const auto& [n, v] : saved_) v ? (void)::setenv(n, v->c_str(), 1) : (void)::unsetenv(n);
  }

 private:
  static constexpr const char* kNames[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"};
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

}  // namespace

TEST(LaunchEnv, WithoutWorldSizeTheProcessTrainsAlone) {
  LaunchVars vars({});
  const auto env = edge::dist::launch_env_from_environment();
  EXPECT_FALSE(env.distributed());
  EXPECT_EQ(env.rank, 0);
}

TEST(LaunchEnv, ReadsTorchrunVariables) {
  LaunchVars vars({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "node0"},
                   {"MASTER_PORT", "29501"}});
  const auto env = edge::dist::launch_env_from_environment();
  EXPECT_TRUE(env.distributed());
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "node0");
  EXPECT_EQ(env.master_port, 29501);
}

TEST(LaunchEnv, BadValuesNameTheVariable) {
  const std::vector<std::pair<std::vector<std::pair<const char*, const char*>>, std::string>> cases{
      {{{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_PORT", "1"}}, "RANK: expected 0..1"},
      {{{"WORLD_SIZE", "2"}, {"RANK", "x"}, {"MASTER_PORT", "1"}}, "RANK: expected a non-negative integer"},
      {{{"WORLD_SIZE", "2"}, {"RANK", "0"}}, "MASTER_PORT is not set"},
      {{{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "70000"}}, "MASTER_PORT: expected a port"}};
  for (const auto& [env, message] : cases) {
    LaunchVars vars(env);
    try {
      edge::dist::launch_env_from_environment();
      ADD_FAILURE() << "no error for " << message;
    } catch (const edge::UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

TEST(DeviceFlags, CpuAlwaysAndCudaOnlyWhereAvailable) {
  EXPECT_EQ(edge::resolve_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_THROW(edge::resolve_device("cuda:x"), edge::UsageError);
  EXPECT_THROW(edge::resolve_device("CPU"), edge::UsageError);
  EXPECT_THROW(edge::parse_device_ids("0,,1"), edge::UsageError);
  EXPECT_THROW(edge::parse_device_ids("0,0"), edge::UsageError);
  if (torch::cuda::is_available()) {
    EXPECT_EQ(edge::resolve_device("cuda"), torch::Device(torch::kCUDA, 0));
    EXPECT_EQ(edge::parse_device_ids("0"), std::vector<int>{0});
  } else {
    EXPECT_THROW(edge::resolve_device("cuda"), edge::UsageError);
    EXPECT_THROW(edge::parse_device_ids("0"), edge::UsageError);
  }
}

TEST(Shards, ContiguousEqualSlicesOfTheGlobalBatch) {
  EXPECT_EQ(edge::train::shard_range(32, 0, 2), (std::pair<int64_t, int64_t>{0, 16}));
  EXPECT_EQ(edge::train::shard_range(32, 1, 2), (std::pair<int64_t, int64_t>{16, 32}));
  EXPECT_EQ(edge::train::shard_range(12, 2, 3), (std::pair<int64_t, int64_t>{8, 12}));
  EXPECT_THROW(edge::train::shard_range(10, 0, 3), c10::Error);
}
