// `edge bench-photo --quick`: the photo benchmark end to end on cifar-lt (the shared CIFAR-10
// JPEGs and the shared mobilenet_v2 weights; skipped where ../shared is absent).
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "edge/data/cifar_lt.h"
#include "support/chromium.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

TEST(PhotoBench, QuickRunWritesTheTableAndReusesFinishedRuns) {
  const fs::path weights = fs::path(EDGE_SOURCE_DIR) / ".." / "shared" / "weights" / "mobilenet_v2_imagenet.pth";
  if (!fs::is_regular_file(weights)) GTEST_SKIP() << weights << " absent";
  if (!fs::is_directory(edge::data::cifar_lt_default_source("") / "train"))
    GTEST_SKIP() << "the CIFAR-10 JPEGs are not unpacked (scripts/setup.sh does it where ../shared/data exists)";
  edge::test::TempDir tmp;
  const std::vector<std::string> args = {"bench-photo", "--quick", "--seeds", "1", "--modes", "normal,joint",
                                         "--scores", "msp,max_logit", "--pretrained", weights.string(),
                                         "--out", tmp.path().string()};
  const auto r = edge::test::run_cli(args);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string md = edge::test::slurp(tmp.path() / "RESULTS.md");
  for (const char* want : {"## mobilenet_v2 (ImageNet): JointEnergy", "## small_resnet (scratch): JointEnergy",
                           "| EDGE |", "| BCE |", "vehicles FPR95", "tail j=2 FPR95", "EDGE − BCE",
                           "edge bench-photo --quick --seeds 1", "the three best other scores"})
    EXPECT_NE(md.find(want), std::string::npos) << want << "\n" << md;
  const auto j = nlohmann::json::parse(edge::test::slurp(tmp.path() / "results.json"));
  ASSERT_EQ(j["runs"].size(), 4u);  // 2 backbones x 2 modes x 1 seed
  for (const auto& run : j["runs"]) {
    ASSERT_EQ(run["reports"].size(), 3u);  // energy_sum, msp, max_logit
    EXPECT_EQ(run["reports"][0]["score"], "energy_sum");
  }
  // The EDGE run's eval.html, as headless Chromium parses it: one section per score, the
  // cifar-lt OOD sets' curves drawn.
  if (const std::string exe = edge::test::chromium_path(); !exe.empty()) {
    const fs::path html = tmp.path() / "mobilenet_v2_pretrained" / "joint" / "seed0" / "eval" / "eval.html";
    const fs::path dom_file = tmp.path() / "dom.html";
    ASSERT_EQ(edge::test::run_chromium(exe, tmp.path() / "profile",
                                       "--dump-dom 'file://" + html.string() + "' > '" + dom_file.string() + "'"),
              0);
    const std::string dom = edge::test::slurp(dom_file);
    EXPECT_EQ(edge::test::count_occurrences(dom, "<section class=\"score\""), 3u);
    for (const char* want : {"vehicles (AUROC ", "textures (AUROC ", "noise (AUROC ", "<path class=\"series\""})
      EXPECT_NE(dom.find(want), std::string::npos) << want;
  }
  // A second call reuses the four finished runs instead of training them again.
  const auto again = edge::test::run_cli(args);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(edge::test::count_occurrences(again.out, "reusing the finished run"), 4u) << again.out;
}

TEST(PhotoBench, BadFlagsAreOneLineErrors) {
  edge::test::TempDir tmp;
  auto r = edge::test::run_cli({"bench-photo", "--pretrained", (tmp.path() / "none.pth").string(), "--out",
                                tmp.path().string()});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--pretrained"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("none.pth: file not found"), std::string::npos) << r.err;
  const fs::path w = tmp.path() / "w.pth";
  std::ofstream(w) << "x";
  r = edge::test::run_cli({"bench-photo", "--pretrained", w.string(), "--modes", "normal,bogus"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("bogus"), std::string::npos) << r.err;
  r = edge::test::run_cli({"bench-photo", "--pretrained", w.string(), "--seeds", "0"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--seeds"), std::string::npos) << r.err;
}

}  // namespace
