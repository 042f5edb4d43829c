// `edge eval` writes eval.html: opened in headless Chromium, the DOM holds every plot with
// drawn content and a screenshot shows the plots' colours. Skipped without Chromium.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "edge/common/atomic_file.h"
#include "edge/data/image_io.h"
#include "support/chromium.h"
#include "support/test_support.h"
#include "support/tiny_runs.h"

namespace {

namespace fs = std::filesystem;

using edge::test::count_occurrences;

TEST(EvalHtml, ReportRendersInHeadlessChromium) {
  const std::string exe = edge::test::chromium_path();
  if (exe.empty()) GTEST_SKIP() << "chromium not installed (apt-get install chromium)";
  edge::test::TempDir dir;
  const auto run_dir = dir.path() / "run";
  auto r = edge::test::run_cli(edge::test::tiny_train_args(run_dir));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto ev = dir.path() / "ev";
  r = edge::test::run_cli({"eval", "--checkpoint", run_dir.string(), "--ood_data", "bag,noise", "--score_fn",
                           "energy_sum,max_logit", "--tail_j", "0,1,3", "--out", ev.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("eval.html"), std::string::npos) << r.out;
  const fs::path html = ev / "eval.html";
  ASSERT_TRUE(fs::exists(html));
  const std::string page = edge::read_text_file(html);
  EXPECT_EQ(page.find("http"), std::string::npos) << "external reference in eval.html";
  EXPECT_NE(page.find(fs::absolute(run_dir).string()), std::string::npos);  // the checkpoint

  // (a) The DOM as Chromium parsed it: 2 scores x 3 plots; per score 4 histograms (ID test, ID
  // tail j = 3, bag, noise), 2 ROC curves, 3 FPR95-against-j lines (bag, noise, mean).
  const auto profile = dir.path() / "chromium-profile";
  const auto dom_file = dir.path() / "dom.html";
  ASSERT_EQ(edge::test::run_chromium(exe, profile, fmt::format("--dump-dom 'file://{}' > '{}'", html.string(), dom_file.string())), 0);
  const std::string dom = edge::read_text_file(dom_file);
  EXPECT_EQ(count_occurrences(dom, "<section class=\"score\""), 2u);
  EXPECT_EQ(count_occurrences(dom, "<svg class=\"plot\""), 6u);
  EXPECT_EQ(count_occurrences(dom, "data-kind=\"histogram\""), 2u);
  EXPECT_EQ(count_occurrences(dom, "data-kind=\"roc\""), 2u);
  EXPECT_EQ(count_occurrences(dom, "data-kind=\"tail\""), 2u);
  const std::regex drawn("<path class=\"series\"[^>]* d=\"M[-0-9.]+,[-0-9.]+(L[-0-9.]+,[-0-9.]+)+");
  EXPECT_EQ(std::distance(std::sregex_iterator(dom.begin(), dom.end(), drawn), std::sregex_iterator()), 18);
  EXPECT_NE(dom.find("ID tail (j = 3)"), std::string::npos);
  EXPECT_NE(dom.find("bag (AUROC "), std::string::npos);

  // (b) A screenshot of the top of the page (title, tables, the first score's plots).
  const auto png = dir.path() / "shot.png";
  ASSERT_EQ(edge::test::run_chromium(exe, profile, fmt::format("--screenshot='{}' --window-size=1800,1300 'file://{}'",
                                                   png.string(), html.string())),
            0);
  const torch::Tensor img = edge::data::load_rgb_image(png).to(torch::kInt32);  // [3, H, W]
  ASSERT_EQ(img.size(2), 1800);
  const int64_t h = img.size(1), w = img.size(2);
  auto near = [&](int r, int g, int b) {  // pixels within 40 of a plot colour (antialiasing, fill opacity)
    return ((img[0] - r).abs() + (img[1] - g).abs() + (img[2] - b).abs() < 40).sum().item<int64_t>();
  };
  const int64_t non_white = (img.sum(0) < 3 * 245).sum().item<int64_t>();
  EXPECT_GT(non_white, h * w / 50) << "the page is (nearly) blank";
  std::set<int32_t> colours;
  const torch::Tensor packed = ((img[0] * 256 + img[1]) * 256 + img[2]).flatten().contiguous();
  for (int64_t k = 0; k < packed.numel(); ++k) colours.insert(packed.data_ptr<int32_t>()[k]);
  EXPECT_GT(colours.size(), 100u);
  // Measured once (1800 x 1300): 229 blue, 1076 red, 2016 green, 782 orange pixels; the
  // tables and text alone have none of these colours.
  EXPECT_GT(near(0x1f, 0x77, 0xb4), 60) << "no ID-histogram blue";
  EXPECT_GT(near(0xd6, 0x27, 0x28), 300) << "no first-OOD-set red";
  EXPECT_GT(near(0x2c, 0xa0, 0x2c), 300) << "no second-OOD-set green";
  EXPECT_GT(near(0xff, 0x7f, 0x0e), 200) << "no ID-tail orange";
}

}  // namespace
