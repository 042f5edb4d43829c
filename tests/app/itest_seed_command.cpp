// The seed README's training command, as written (typographic dashes included), apart from
// the program name and the data paths; and the reference's train-then-evaluate flags.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

// `python weg.py ...` from the seed README, byte for byte after the program name: its
// "‚Äìoe_batch_size" and "‚Äìalpha" are a mis-encoded en dash.
std::vector<std::string> seed_train_command() {
  const std::string bad_dash = "\xE2\x80\x9A\xC3\x84\xC3\xAC";
  return {"train", "--arch", "resnet50", "--dataset", "coco", "--ood_data", "imagenet", "--ood", "energy",
          "--method", "sum", "--batch_size=128", bad_dash + "oe_batch_size", "128", "--start_epoch", "50",
          "--n_epoch", "100", "--l_rate=1e-1", "--opt=sgd", bad_dash + "alpha", "1", "--energy_beta", "1e-1",
          "--k", "32", "--m", "0", "--device-id=0,1"};
}

TEST(SeedCommand, TrainCommandAsWrittenResolvesToTheReferenceSettings) {
  edge::test::TempDir dir;
  auto args = seed_train_command();
  args.insert(args.end(), {"--data_root", (edge::test::fixtures_dir() / "datasets").string(), "--out",
                           (dir.path() / "run").string(), "--print_config"});
  const auto r = edge::test::run_cli(args);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"]["arch"], "resnet50");
  EXPECT_EQ(j["dataset"], "coco");
  EXPECT_EQ(j["score"], "joint");  // weg.py's default mode: EDGE
  EXPECT_EQ(j["batch_size"], 128);
  EXPECT_EQ(j["oe_batch_size"], 128);
  EXPECT_EQ(j["start_epoch"], 50);
  EXPECT_EQ(j["n_epoch"], 100);
  EXPECT_DOUBLE_EQ(j["l_rate"].get<double>(), 0.1);
  EXPECT_EQ(j["opt"], "sgd");
  EXPECT_DOUBLE_EQ(j["alpha"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["energy_beta"].get<double>(), 0.1);
  EXPECT_EQ(j["k"], 32);
  EXPECT_DOUBLE_EQ(j["m"].get<double>(), 0.0);
  EXPECT_EQ(j["launch"]["device_ids"], "0,1");
  EXPECT_EQ(j["final_eval"]["score_fn"], "energy_sum");
  EXPECT_EQ(j["final_eval"]["ood_data"], nlohmann::json::array({"imagenet"}));
  EXPECT_FALSE(fs::exists(dir.path() / "run")) << "--print_config must not write anything";
}

TEST(SeedCommand, WithoutCudaTheDeviceIdsAreAOneLineError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has CUDA";
  edge::test::TempDir dir;
  auto args = seed_train_command();
  args.insert(args.end(), {"--data_root", (edge::test::fixtures_dir() / "datasets").string(), "--out",
                           (dir.path() / "run").string()});
  const auto r = edge::test::run_cli(args);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("--device-id"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "run" / "config.json"));
}

TEST(SeedCommand, TrainThenEvaluateWithTheReferenceScoreFlags) {
  edge::test::TempDir dir;
  const auto run = dir.path() / "run";
  const auto r = edge::test::run_cli(
      {"train", "--score", "joint", "--n_epoch", "1", "--start_epoch", "0", "--id_train", "256", "--id_val", "64",
       "--id_test", "128", "--oe_train", "256", "--ood_test", "64", "--batch_size", "64", "--oe_batch_size", "64",
       "--k", "16", "--hidden", "64", "--width", "8", "--out", run.string(), "--ood_data", "bag,noise", "--ood",
       "energy", "--method", "max"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(std::ifstream(run / "eval" / "eval.json"));
  EXPECT_EQ(j["score"], "energy_max");
  EXPECT_NE(r.out.find("energy_max"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("noise"), std::string::npos) << r.out;

  const auto bad = edge::test::run_cli({"train", "--out", (dir.path() / "bad").string(), "--ood_data", "bag", "--ood",
                                        "entropy"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--ood"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir.path() / "bad" / "config.json")) << "a bad --ood must fail before training";
}

TEST(SeedCommand, EvalTakesTheReferenceScoreFlags) {
  const auto r = edge::test::run_cli({"eval", "--checkpoint", "/nonexistent-run", "--ood", "logit", "--method", "avg"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--method"), std::string::npos) << r.err;
}

}  // namespace
