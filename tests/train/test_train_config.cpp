// TrainConfig's JSON form: what config.json stores is what a later command reads back.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

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

// Found by the run_config fuzzer: image_size given a 90-digit number, which nlohmann holds
// as the double 2.56e88 and get<int64_t>() converted out of range (undefined behaviour).
TEST(TrainConfig, AnIntegerFieldOutOfRangeOrNotIntegralIsRefusedNamingTheKeyAndTheFile) {
  edge::test::TempDir dir;
  const auto finding =
      edge::test::fixtures_dir() / ".." / "fuzz" / "corpus" / "run_config" / "crash-466edda2ef8340b2d4e7ec0409174f46573ff44e";
  std::filesystem::copy_file(finding, dir.path() / "config.json");
  const auto huge = edge::test::error_message([&] { edge::train::load_run_config(dir.path()); });
  EXPECT_NE(huge.find("config.json: malformed run configuration ('image_size': expected an integer from "
                      "-9223372036854775808 to 9223372036854775807, got 2.56"),
            std::string::npos)
      << huge;

  const nlohmann::json good = edge::train::TrainConfig{};
  const auto refused = [&](const nlohmann::json& config) {
    std::ofstream(dir.path() / "config.json") << config.dump();
    return edge::test::error_message([&] { edge::train::load_run_config(dir.path()); });
  };
  auto fractional = good;
  fractional["n_epoch"] = 3.5;  // was read as 3
  EXPECT_NE(refused(fractional).find("'n_epoch': expected an integer"), std::string::npos) << refused(fractional);
  auto negative_seed = good;
  negative_seed["seed"] = -1;  // was read as 18446744073709551615
  EXPECT_NE(refused(negative_seed).find("'seed': expected an integer from 0 to 18446744073709551615, got -1"),
            std::string::npos)
      << refused(negative_seed);
  auto nested = good;
  nested["model"]["num_classes"] = 1e30;
  EXPECT_NE(refused(nested).find("'num_classes': expected an integer"), std::string::npos) << refused(nested);
  // What the program writes reads back unchanged.
  std::ofstream(dir.path() / "config.json") << good.dump();
  EXPECT_EQ(nlohmann::json(edge::train::load_run_config(dir.path())), good);
}

}  // namespace
