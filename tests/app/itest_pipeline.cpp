// End to end through the input pipeline: train one short epoch on the tiny COCO fixture
// (tests/fixtures/datasets) with an image-folder OE set holding a corrupt file, then
// evaluate with an image-folder OOD set.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "edge/common/atomic_file.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(PipelineTraining, CocoFixtureWithCorruptOeImageTrainsAndEvaluates) {
  const fs::path datasets = edge::test::fixtures_dir() / "datasets";
  ASSERT_TRUE(fs::exists(datasets / "coco")) << "dataset fixtures missing";
  edge::test::TempDir tmp;
  const fs::path oe = tmp.path() / "oe", ood = tmp.path() / "ood";
  fs::create_directories(oe);
  fs::create_directories(ood);
  for (const char* f : {"a.png", "sub/b.JPG", "sub/deeper/c.bmp"})
    fs::copy_file(datasets / "folder" / f, oe / fs::path(f).filename());
  fs::copy_file(datasets / "corrupt" / "bad.jpg", oe / "broken.jpg");
  for (const auto& e : fs::directory_iterator(datasets / "nus-wide" / "Flickr" / "test_0"))
    fs::copy_file(e.path(), ood / e.path().filename());

  const fs::path run = tmp.path() / "run";
  const auto train = edge::test::run_cli(
      {"train", "--dataset", "coco2014", "--data_root", datasets.string(), "--oe_data", "folder:" + oe.string(),
       "--score", "joint", "--n_epoch", "2", "--start_epoch", "1", "--batch_size", "2", "--oe_batch_size", "4",
       "--k", "1", "--image_size", "32", "--workers", "2", "--width", "4", "--hidden", "8", "--threads", "1",
       "--out", run.string()});
  ASSERT_EQ(train.code, 0) << train.err << train.out;
  // One warning naming the file, however often the slot comes back.
  EXPECT_EQ(count_of(train.out, "warning: skipping corrupt image"), 1) << train.out;
  EXPECT_NE(train.out.find("broken.jpg"), std::string::npos) << train.out;
  EXPECT_NE(train.out.find("corrupt images replaced"), std::string::npos) << train.out;

  std::ifstream log(run / "train_log.jsonl");
  std::string line;
  int64_t corrupt = 0, epochs = 0;
  while (std::getline(log, line)) {
    corrupt += nlohmann::json::parse(line).at("corrupt_images").get<int64_t>();
    ++epochs;
  }
  EXPECT_EQ(epochs, 2);
  // Each epoch draws 4 OE slots from 4 files (one corrupt): it is hit at least once per pass.
  EXPECT_GE(corrupt, 2);
  nlohmann::json summary;
  std::ifstream(run / "summary.json") >> summary;
  EXPECT_EQ(summary.at("corrupt_images").get<int64_t>(), corrupt);
  nlohmann::json config;
  std::ifstream(run / "config.json") >> config;
  EXPECT_EQ(config.at("model").at("num_classes").get<int64_t>(), 3);

  const auto eval = edge::test::run_cli({"eval", "--checkpoint", run.string(), "--ood_data",
                                         "folder:" + ood.string(), "--workers", "2", "--tail_j", "0,1"});
  ASSERT_EQ(eval.code, 0) << eval.err << eval.out;
  EXPECT_TRUE(fs::exists(run / "eval" / "eval.json"));
  EXPECT_TRUE(fs::exists(run / "eval" / "eval.html"));  // the registry path writes the HTML report too
  EXPECT_NE(eval.out.find("ID: "), std::string::npos) << eval.out;

  // fashion-lt's generated sets fit a registry run too (56x56 gray, resized and made RGB by the
  // run's transform); its short names are fashion-lt's own and refused here in one line.
  const auto bag = edge::test::run_cli({"eval", "--checkpoint", run.string(), "--ood_data",
                                        "fashion-lt-bag,noise-blobs:5", "--tail_j", "0", "--no_cache", "--out",
                                        (tmp.path() / "bag").string()});
  ASSERT_EQ(bag.code, 0) << bag.err << bag.out;
  const auto bag_report = nlohmann::json::parse(edge::read_text_file(tmp.path() / "bag" / "eval.json"));
  EXPECT_EQ(bag_report["rows"][0]["ood_set"], "fashion-lt-bag");
  EXPECT_EQ(bag_report["rows"][1]["n_ood"], 5);
  const auto short_name = edge::test::run_cli({"eval", "--checkpoint", run.string(), "--ood_data", "bag", "--out",
                                               (tmp.path() / "short").string()});
  EXPECT_EQ(short_name.code, 2) << short_name.err;
  EXPECT_EQ(std::count(short_name.err.begin(), short_name.err.end(), '\n'), 1) << short_name.err;
  EXPECT_NE(short_name.err.find("'bag'"), std::string::npos) << short_name.err;
  EXPECT_FALSE(fs::exists(tmp.path() / "short"));

  // A registry run needs its OOD sets named.
  const auto no_ood = edge::test::run_cli({"eval", "--checkpoint", run.string()});
  EXPECT_EQ(no_ood.code, 2) << no_ood.err;
  EXPECT_NE(no_ood.err.find("--ood_data"), std::string::npos) << no_ood.err;

  // Resuming a finished registry run reopens its data and has nothing to do.
  const auto resumed = edge::test::run_cli({"train", "--resume", run.string()});
  EXPECT_EQ(resumed.code, 0) << resumed.err;
}

TEST(PipelineTraining, SameRunForAnyWorkerCount) {
  const fs::path datasets = edge::test::fixtures_dir() / "datasets";
  ASSERT_TRUE(fs::exists(datasets / "coco")) << "dataset fixtures missing";
  edge::test::TempDir tmp;
  std::vector<nlohmann::json> logs;
  for (const char* workers : {"0", "3"}) {
    const fs::path run = tmp.path() / workers;
    // fp32, not the `auto` default: the two losses are compared exactly.
    const auto r = edge::test::run_cli(
        {"train", "--dataset", "coco2014", "--data_root", datasets.string(), "--oe_data",
         "folder:" + (datasets / "folder").string(), "--score", "joint", "--n_epoch", "1", "--batch_size", "2",
         "--oe_batch_size", "2", "--k", "1", "--image_size", "24", "--workers", workers, "--width", "4",
         "--hidden", "8", "--threads", "1", "--precision", "fp32", "--channels_last", "false", "--out", run.string()});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    std::ifstream log(run / "train_log.jsonl");
    nlohmann::json j;
    log >> j;
    logs.push_back(j);
  }
  EXPECT_EQ(logs[0].at("loss").get<double>(), logs[1].at("loss").get<double>());
  EXPECT_EQ(logs[0].at("terms"), logs[1].at("terms"));
}

}  // namespace
