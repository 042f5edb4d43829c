// `edge data verify` on the dataset fixtures, through the CLI.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "edge/data/readers.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;

fs::path root() { return edge::test::fixtures_dir() / "datasets"; }

std::vector<std::string> problem_lines(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("problem: ", 0) == 0) lines.push_back(line);
  return lines;
}

TEST(DataVerify, CleanBenchmarkExitsZeroWithFrequencyTable) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio (svhn)";
  const auto r = edge::test::run_cli({"data", "verify", "--dataset", "coco", "--data_root", root().string(),
                                      "--oe_data", "folder:" + (root() / "folder").string(), "--ood_data",
                                      "svhn,mnist,noise-blobs:3"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ID train coco/train2014: 3 images, 3 classes, 0 images without any class"),
            std::string::npos)
      << r.out;
  // Head -> tail: person (2 of 3 images), then car and dog (1 each) in category order.
  const auto person = r.out.find("1  person         2   66.67%");
  const auto car = r.out.find("2  car            1   33.33%");
  const auto dog = r.out.find("3  dog            1   33.33%");
  EXPECT_NE(person, std::string::npos) << r.out;
  EXPECT_LT(person, car);
  EXPECT_LT(car, dog);
  EXPECT_NE(r.out.find("OOD test svhn: 5 images (unlabelled)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data verify: no problems"), std::string::npos) << r.out;
  EXPECT_TRUE(problem_lines(r.out).empty()) << r.out;
}

TEST(DataVerify, CorruptTruncatedAndMissingFilesOneLineEach) {
  const auto r = edge::test::run_cli({"data", "verify", "--dataset",
                                      "manifest:" + (root() / "manifest_bad" / "train.csv").string(), "--ood_data",
                                      "folder:" + (root() / "corrupt").string(), "--allow_outside_paths"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  const auto lines = problem_lines(r.out);
  // manifest: short row, bad 0/1 value, missing.png (listed without a file); corrupt/: bad.jpg,
  // truncated.png; good.png is fine. The manifest serves train, val and test: 3x its problems.
  auto count = [&](const std::string& needle) {
    return std::count_if(lines.begin(), lines.end(),
                         [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  };
  EXPECT_EQ(count("train.csv:3: 3 fields, expected 4"), 3) << r.out;
  EXPECT_EQ(count("train.csv:5: column 'dog' is '2'"), 3) << r.out;
  EXPECT_EQ(count("missing.png"), 3) << r.out;
  EXPECT_EQ(count("bad.jpg"), 1) << r.out;
  EXPECT_EQ(count("truncated.png"), 1) << r.out;
  EXPECT_EQ(count("good.png"), 0) << r.out;
  EXPECT_EQ(lines.size(), 11u) << r.out;
  EXPECT_NE(r.out.find("data verify: 11 problems"), std::string::npos) << r.out;
}

// Without --allow_outside_paths the manifest's ../manifest/ rows are problems, one per row and split.
TEST(DataVerify, ManifestRowsOutsideTheFolderAreProblems) {
  const auto r = edge::test::run_cli({"data", "verify", "--dataset",
                                      "manifest:" + (root() / "manifest_bad" / "train.csv").string(), "--ood_data",
                                      "folder:" + (root() / "manifest").string()});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  const auto lines = problem_lines(r.out);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) {
                            return l.find("leaves") != std::string::npos &&
                                   l.find("--allow_outside_paths") != std::string::npos;
                          }),
            6)
      << r.out;
}

TEST(DataVerify, NusWideLabelRowMismatchIsReported) {
  edge::test::TempDir dir;
  fs::copy(root() / "nus-wide", dir.path() / "nus-wide", fs::copy_options::recursive);
  // One label row too few for the train image list: drop the last row.
  const auto labels = dir.path() / "nus-wide" / "nus_wide_train_label.txt";
  std::string text;
  {
    std::ifstream in(labels);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  text.erase(text.rfind('\n', text.size() - 2) + 1);
  std::ofstream(labels) << text;
  const auto r = edge::test::run_cli({"data", "verify", "--dataset", "nus-wide", "--data_root", dir.path().string()});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  const auto lines = problem_lines(r.out);
  ASSERT_FALSE(lines.empty()) << r.out;
  EXPECT_NE(lines[0].find("nus_wide_train_label.txt: 3 label rows for the 4 images"), std::string::npos) << r.out;
}

// The downloads the paper uses lack some splits (COCO: no test2014/): verify checks the
// splits that exist and says which are absent, without counting them as problems.
TEST(DataVerify, AbsentSplitsAreNamedAndTheOthersVerified) {
  edge::test::TempDir dir;
  std::filesystem::copy(root() / "coco", dir.path() / "coco", std::filesystem::copy_options::recursive);
  std::filesystem::remove_all(dir.path() / "coco" / "test2014");
  const auto r = edge::test::run_cli({"data", "verify", "--dataset", "coco", "--data_root", dir.path().string()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ID test: absent ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test2014"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ID train coco/train2014: 3 images"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data verify: no problems"), std::string::npos) << r.out;
}

TEST(DataVerify, UnknownNameAndMissingFolderAreOneLineErrors) {
  auto r = edge::test::run_cli({"data", "verify", "--dataset", "imagenet-1k"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("edge: error: --dataset: unknown dataset 'imagenet-1k'"), std::string::npos) << r.err;
  r = edge::test::run_cli({"data", "verify", "--dataset", "voc2012", "--data_root", "no_such_dir"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no_such_dir/VOCdevkit/VOC2012"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
