// `edge select-oe` end to end on generated sets with a small torchvision-layout backbone
// (random weights written as a .pth): the ranking table, the rule, the JSON, the errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include <torch/torch.h>

#include "edge/model/backbone.h"
#include "edge/model/checkpoint.h"
#include "edge/model/torch_file.h"
#include "support/test_support.h"
#include "support/tiny_runs.h"

namespace {

namespace fs = std::filesystem;
using namespace edge;

std::vector<std::string> base_args(const fs::path& weights) {
  return {"select-oe", "--dataset", "noise-blobs:12", "--candidates", "noise-uniform:12, noise-gaussian:8",
          "--arch", "resnet18", "--pretrained", weights.string(), "--batch_size", "4", "--k", "3",
          "--image_size", "32", "--threads", "1", "--workers", "0"};
}

bool one_line(const std::string& s) { return !s.empty() && std::count(s.begin(), s.end(), '\n') == 1; }

TEST(SelectOeCommand, PrintsTheRankingAndTheRuleAndWritesJson) {
  test::TempDir dir;
  const fs::path w = test::write_resnet18_weights(dir.path());
  auto args = base_args(w);
  args.insert(args.end(), {"--out", (dir.path() / "sel.json").string()});
  const test::CliResult r = test::run_cli(args);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("rank  candidate"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rule: the candidate with the SMALLEST dilation distance is selected"), std::string::npos);
  EXPECT_NE(r.out.find("incomplete last batch dropped"), std::string::npos);
  std::ifstream in(dir.path() / "sel.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j["candidates"].size(), 2u);
  EXPECT_EQ(j["k"], 3);
  EXPECT_EQ(j["feature_dim"], 512);
  EXPECT_EQ(j["id"]["batches"], 3);  // 12 images in batches of 4
  const auto& u = j["candidates"][0];
  const auto& g = j["candidates"][1];
  EXPECT_EQ(u["batches"], 3);
  EXPECT_EQ(g["batches"], 2);  // 8 gaussian images: two batches, paired with the first two ID batches
  EXPECT_EQ(u["top_k"].size(), 3u);
  const double du = u["distance"], dg = g["distance"];
  ASSERT_GT(du, 0.0);
  ASSERT_GT(dg, 0.0);
  ASSERT_NE(du, dg);
  const std::string closest = du < dg ? "noise-uniform:12" : "noise-gaussian:8";
  const std::string farthest = du < dg ? "noise-gaussian:8" : "noise-uniform:12";
  EXPECT_EQ(j["selected"], closest);
  EXPECT_NE(r.out.find("selected: " + closest), std::string::npos) << r.out;
  // The table lists rank 1 first.
  EXPECT_LT(r.out.find("   1  " + closest), r.out.find("   2  " + farthest)) << r.out;
  // Recomputing the distance from the JSON's own spectra.
  double sq = 0.0;
  for (int i = 0; i < 3; ++i) sq += std::pow(u["top_k"][i].get<double>() - u["id_top_k"][i].get<double>(), 2);
  EXPECT_NEAR(std::sqrt(sq), du, 1e-9 * du);

  auto largest = base_args(w);
  largest.insert(largest.end(), {"--rule", "largest"});
  const test::CliResult l = test::run_cli(largest);
  ASSERT_EQ(l.code, 0) << l.err;
  EXPECT_NE(l.out.find("selected: " + farthest), std::string::npos) << l.out;
  EXPECT_NE(l.out.find(fmt::format("{:.6f}", du)), std::string::npos) << "same seed, same distances\n" << l.out;
}

TEST(SelectOeCommand, ErrorsAreOneLineWithExitCodes) {
  test::TempDir dir;
  const fs::path fake = dir.path() / "fake.pth";  // exists; never read when an earlier check fails
  std::ofstream(fake) << "x";
  auto with = [&](std::vector<std::string> extra, const fs::path& weights) {
    auto a = base_args(weights);
    for (size_t i = 0; i + 1 < extra.size(); i += 2) {
      const auto it = std::find(a.begin(), a.end(), extra[i]);
      if (it != a.end()) *(it + 1) = extra[i + 1];
      else a.insert(a.end(), {extra[i], extra[i + 1]});
    }
    return test::run_cli(a);
  };
  test::CliResult r = with({"--candidates", "noise-uniform:8,imagenet-21k"}, fake);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("--candidates"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("imagenet-21k"), std::string::npos) << r.err;

  r = with({"--candidates", "folder:" + (dir.path() / "missing").string()}, fake);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find((dir.path() / "missing").string()), std::string::npos) << r.err;

  r = with({}, dir.path() / "absent.pth");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("--pretrained"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("absent.pth"), std::string::npos) << r.err;

  r = with({"--k", "5"}, fake);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("--k 5"), std::string::npos) << r.err;

  r = with({"--candidates", "noise-uniform:8,noise-uniform:8"}, fake);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("listed twice"), std::string::npos) << r.err;

  r = with({"--arch", "small_resnet"}, fake);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--arch"), std::string::npos) << r.err;

  r = with({"--candidates", "noise-uniform:3"}, test::write_resnet18_weights(dir.path()));
  EXPECT_EQ(r.code, 1);  // fewer images than one batch
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("noise-uniform:3"), std::string::npos) << r.err;

  r = test::run_cli({"select-oe", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("SMALLEST"), std::string::npos) << r.out;
}

}  // namespace
