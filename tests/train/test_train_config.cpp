// TrainConfig's JSON form: what config.json stores is what a later command reads back.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "edge/train/train_config.h"
#include "support/test_support.h"

namespace {

TEST(TrainConfig, AllowOutsidePathsIsStoredAndDefaultsToFalse) {
  edge::train::TrainConfig c;
  c.dataset = "manifest:/data/m";
  c.allow_outside_paths = true;
  nlohmann::json j = c;
  EXPECT_EQ(j["allow_outside_paths"], true);
  const auto back = j.get<edge::train::TrainConfig>();
  EXPECT_TRUE(back.allow_outside_paths);
  EXPECT_TRUE(back.benchmark_spec().allow_outside_paths);
  EXPECT_EQ(back.benchmark_spec().dataset, "manifest:/data/m");
  j.erase("allow_outside_paths");  // a config.json written before the flag existed
  EXPECT_FALSE(j.get<edge::train::TrainConfig>().allow_outside_paths);

  const auto r = edge::test::run_cli({"train", "--print_config", "--allow_outside_paths"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["allow_outside_paths"], true);
}

}  // namespace
