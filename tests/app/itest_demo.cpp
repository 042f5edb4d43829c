// `edge demo --quick`: the whole pipeline end to end, on the real embedded data.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "edge/app/commands.h"
#include "edge/common/atomic_file.h"
#include "support/test_support.h"

namespace {

TEST(Demo, QuickRunPrintsTheComparisonTable) {
  edge::test::TempDir dir;
  const std::string out_dir = (dir.path() / "demo").string();
  std::vector<const char*> argv = {"edge", "demo", "--quick", "--out", out_dir.c_str()};
  std::ostringstream out, err;
  ASSERT_EQ(edge::app::cli_main(static_cast<int>(argv.size()), argv.data(), out, err), 0) << err.str();
  const std::string s = out.str();
  for (const char* needle : {"BCE", "EDGE", "bag", "textures", "noise", "mean", "tail-only j=2", "tail-only j=4",
                             "ID mAP", "wall time"})
    EXPECT_NE(s.find(needle), std::string::npos) << needle << "\n" << s;
  const auto j = nlohmann::json::parse(edge::read_text_file(dir.path() / "demo" / "demo.json"));
  for (const char* model : {"bce", "edge"}) {
    ASSERT_EQ(j[model]["rows"].size(), 4u);
    for (const auto& row : j[model]["rows"]) {
      EXPECT_GE(row["auroc"].get<double>(), 0.0);
      EXPECT_LE(row["auroc"].get<double>(), 1.0);
    }
    // Even the smoke run learns something: well above the chance mAP (~class frequency).
    EXPECT_GT(j[model]["id_map"].get<double>(), 0.3) << model;
  }
  EXPECT_LT(j["wall_seconds"].get<double>(), 180.0);
}

}  // namespace
