// Every dataset reader and the registry on the fixtures of scripts/make_dataset_fixtures.py.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>

#include "edge/common/error.h"
#include "edge/data/readers.h"
#include "edge/data/registry.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using edge::data::Dataset;
using edge::test::error_message;

fs::path root() { return edge::test::fixtures_dir() / "datasets"; }

torch::Tensor rows(std::vector<std::vector<float>> r) {
  std::vector<torch::Tensor> t;
  for (auto& v : r) t.push_back(torch::tensor(v));
  return torch::stack(t);
}

std::vector<float> hot(size_t C, std::vector<size_t> on) {
  std::vector<float> v(C, 0.0f);
  for (size_t i : on) v[i] = 1.0f;
  return v;
}

TEST(DatasetReaders, VocXmlCountsClassOrderAndDifficultObjects) {
  const auto& voc = edge::data::voc_class_names();
  ASSERT_EQ(voc.size(), 20u);
  EXPECT_EQ(voc.front(), "aeroplane");
  EXPECT_EQ(voc[14], "person");
  EXPECT_EQ(voc.back(), "tvmonitor");
  const Dataset train = edge::data::open_dataset("voc2012", root() / "voc", "train");
  ASSERT_EQ(train.size(), 2);
  EXPECT_EQ(train.class_names, voc);
  // 2008_000001: dog + a difficult person (counted); 2008_000003: tvmonitor + person.
  EXPECT_TRUE(torch::equal(train.labels, rows({hot(20, {11, 14}), hot(20, {19, 14})})));
  EXPECT_NE(train.images->describe(1).find("2008_000003.jpg"), std::string::npos);
  EXPECT_EQ(train.images->load(0).sizes(), (std::vector<int64_t>{3, 6, 8}));
  const Dataset val = edge::data::open_dataset("voc2012", root() / "voc", "val");
  EXPECT_TRUE(torch::equal(val.labels, rows({hot(20, {0})})));
  const Dataset test = edge::data::open_dataset("voc2012", root() / "voc", "test");
  EXPECT_EQ(test.size(), 1);
  EXPECT_FALSE(test.has_labels());
}

TEST(DatasetReaders, VocMatListsMatchTheXmlLabels) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio";
  const Dataset mat = edge::data::open_dataset("pascal:" + (root() / "pascal").string(), "unused", "train");
  const Dataset xml = edge::data::open_dataset("voc2012", root() / "voc", "train");
  ASSERT_EQ(mat.size(), 2);
  EXPECT_TRUE(torch::equal(mat.labels, xml.labels));
  // Blank padding stripped, path resolved against the .mat's folder.
  EXPECT_TRUE(torch::equal(mat.images->load(1), xml.images->load(1)));
  const Dataset test = edge::data::open_dataset("pascal", root(), "test");
  EXPECT_EQ(test.size(), 1);
  EXPECT_FALSE(test.has_labels());
}

// Found by the mat fuzzer: a char matrix declaring more rows x cols than its data holds was
// read past the end of matio's buffer (heap-buffer-overflow). The structure check
// (src/data/mat_structure.cpp) now refuses its 5-byte small element before matio reads it.
TEST(DatasetReaders, MatVariableHoldingFewerBytesThanItDeclaresIsRefused) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio";
  const auto finding = edge::test::fixtures_dir() / ".." / "fuzz" / "corpus" / "mat" /
                       "crash-47ae38595017d74001d3023ea5e5a222b93f4e7b";
  const auto msg = error_message([&] { edge::data::read_voc_mat(finding); });
  EXPECT_NE(msg.find("crash-47ae38595017d74001d3023ea5e5a222b93f4e7b: variable 1 (at byte 128) is corrupt"),
            std::string::npos) << msg;
  EXPECT_NE(msg.find("(truncated or corrupt file)"), std::string::npos) << msg;
}

// A cell array whose header declares an impossible size (found by the mat fuzzer, where matio's
// calloc of it failed): the structure check refuses it before matio allocates, in one line.
TEST(DatasetReaders, MatVariableDeclaringAnImpossibleSizeIsRefused) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio";
  const auto finding = edge::test::fixtures_dir() / ".." / "fuzz" / "corpus" / "mat" /
                       "crash-d13eeca36f29c3fb6400566894799f46d3dba5d7";
  const auto msg = error_message([&] { edge::data::read_voc_mat(finding); });
  EXPECT_NE(msg.find("crash-d13eeca36f29c3fb6400566894799f46d3dba5d7"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

// Found by the mat fuzzer: an empty char matrix declaring ~10^9 rows of 0 columns made the
// reader allocate 30 GB of empty strings (and 5 such inputs took 800 MB and 2 s each natively);
// one of 0 rows and ~10^9 columns built a 3-7 GB row (9 s natively). An empty Imlist holds no
// paths and is refused in one line.
TEST(DatasetReaders, MatEmptyImlistWithAHugeRowCountIsRefusedWithoutAllocatingRows) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio";
  for (const char* name : {"crash-ac8f78de09b246b11eefb4119487c125bec4fae9", "slow-unit-50ed9d88823f4b4fdf93a43353a28adb75dc96d3",
                           "oom-24074cd8e2d9c496850ec76587e23087ea7dbda5", "slow-unit-83ced7a6bb81fe5e074ce10c6bf8aeaad81f3707"}) {
    const auto finding = edge::test::fixtures_dir() / ".." / "fuzz" / "corpus" / "mat" / name;
    const auto msg = error_message([&] { edge::data::read_voc_mat(finding); });
    EXPECT_NE(msg.find(std::string(name) + ": 'Imlist' is "), std::string::npos) << msg;
    EXPECT_NE(msg.find(" and holds no image paths (expected one per row)"), std::string::npos) << msg;
  }
}

// Found by the mat fuzzer (UBSan): 'labels' as a char matrix of the right dims was read as
// numbers past the end of an empty vector.
TEST(DatasetReaders, MatCharLabelsAreRefused) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio";
  const auto finding = edge::test::fixtures_dir() / ".." / "fuzz" / "corpus" / "mat" /
                       "crash-363dc593be66868dc1017b262a4f87bbd38fe376";
  const auto msg = error_message([&] { edge::data::read_voc_mat(finding); });
  EXPECT_NE(msg.find("crash-363dc593be66868dc1017b262a4f87bbd38fe376: 'labels' is a char "), std::string::npos) << msg;
  EXPECT_NE(msg.find(", expected a numeric ["), std::string::npos) << msg;
}

TEST(DatasetReaders, CocoOrdersCategoriesByIdAndDropsUnlabelledImages) {
  const Dataset d = edge::data::open_dataset("coco", root(), "train");
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"person", "car", "dog"}));
  // Sorted by file name: 7 (car), 11 (person), 42 (dog + crowd person); 9 has no annotation.
  ASSERT_EQ(d.size(), 3);
  EXPECT_TRUE(torch::equal(d.labels, rows({{0, 1, 0}, {1, 0, 0}, {1, 0, 1}})));
  EXPECT_NE(d.images->describe(2).find("COCO_train2014_000000000042.jpg"), std::string::npos);
  const Dataset val = edge::data::open_dataset("coco2014", root(), "val");
  EXPECT_TRUE(torch::equal(val.labels, rows({{0, 0, 1}})));
  const Dataset test = edge::data::open_dataset("coco", root(), "test");
  EXPECT_EQ(test.size(), 1);
  EXPECT_FALSE(test.has_labels());
}

TEST(DatasetReaders, CocoMalformedJsonNamesTheFile) {
  edge::test::TempDir dir;
  fs::create_directories(dir.path() / "annotations");
  fs::create_directories(dir.path() / "train2014");
  std::ofstream(dir.path() / "annotations" / "instances_train2014.json") << R"({"images": [{"id": 1,)";
  const auto msg = error_message([&] { edge::data::open_dataset("coco:" + dir.path().string(), "", "train"); });
  EXPECT_NE(msg.find("instances_train2014.json"), std::string::npos) << msg;
}

TEST(DatasetReaders, NusWideDropsEmptyRowsAndSplitsTestLikeNumpy) {
  std::ifstream perm_file(root() / "nus-wide" / "numpy_shuffle_999_1000.json");
  const auto expected = nlohmann::json::parse(perm_file);
  ASSERT_EQ(expected.size(), 1000u);
  const auto& names = edge::data::nus_wide_class_names();
  ASSERT_EQ(names.size(), 81u);
  const Dataset train = edge::data::open_dataset("nus-wide", root(), "train");
  EXPECT_EQ(train.size(), 3);  // 4 rows, one without labels
  EXPECT_EQ(train.labels.size(1), 81);
  std::ifstream split_file(root() / "nus-wide" / "expected_split.json");
  const auto split = nlohmann::json::parse(split_file);
  for (const std::string s : {"val", "test"}) {
    const Dataset d = edge::data::open_dataset("nus-wide", root(), s);
    const auto& images = split[s]["images"];
    ASSERT_EQ(d.size(), static_cast<int64_t>(images.size())) << s;
    for (size_t i = 0; i < images.size(); ++i) {
      EXPECT_EQ(d.images->describe(static_cast<int64_t>(i)),
                (root() / "nus-wide" / images[i].get<std::string>()).string());
      for (int64_t c = 0; c < 81; ++c)
        EXPECT_EQ(d.labels[static_cast<int64_t>(i)][c].item<float>(), split[s]["labels"][i][c].get<float>());
    }
  }
}

TEST(DatasetReaders, ManifestLabelNamesAndZeroOneColumnsAgree) {
  const auto dir = root() / "manifest";
  const Dataset train = edge::data::open_dataset("manifest:" + dir.string(), "", "train");
  EXPECT_EQ(train.class_names, (std::vector<std::string>{"cat", "dog", "traffic light"}));
  EXPECT_TRUE(torch::equal(train.labels, rows({{1, 1, 0}, {0, 0, 1}, {0, 0, 0}})));
  EXPECT_EQ(train.images->load(1)[0][0][0].item<uint8_t>(), 50);
  const Dataset val = edge::data::open_dataset("manifest:" + dir.string(), "", "val");  // val.tsv
  EXPECT_EQ(val.class_names, train.class_names);
  EXPECT_TRUE(torch::equal(val.labels, rows({{0, 1, 1}, {1, 0, 0}})));
}

// manifest_bad/train.csv names images in ../manifest/: allowed only with the flag.
TEST(DatasetReaders, ManifestErrorsNameFileAndLine) {
  const auto bad = root() / "manifest_bad" / "train.csv";
  const auto msg = error_message([&] { edge::data::read_manifest(bad, nullptr, true); });
  EXPECT_NE(msg.find("train.csv:3"), std::string::npos) << msg;
  edge::data::Problems problems;
  const Dataset d = edge::data::read_manifest(bad, &problems, true);
  EXPECT_EQ(d.size(), 2);  // m0 and missing.png (its file is checked by `data verify`)
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("train.csv:3: 3 fields, expected 4"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("train.csv:5"), std::string::npos) << problems[1];

  problems.clear();
  const Dataset inside_only = edge::data::read_manifest(bad, &problems);
  EXPECT_EQ(inside_only.size(), 1);  // missing.png
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find("train.csv:2: image path '../manifest/img/m0.png' leaves " +
                             (root() / "manifest_bad").string() + " ("),
            std::string::npos)
      << problems[0];
  EXPECT_NE(problems[0].find("--allow_outside_paths"), std::string::npos) << problems[0];
  EXPECT_NE(problems[2].find("train.csv:5: image path '../manifest/img/m2.png' leaves"), std::string::npos)
      << problems[2];
}

// Every list reader refuses entries that leave its folder (absolute paths, climbing ../),
// keeps those that only pass through a sub-folder, and reads them all with the flag.
TEST(DatasetReaders, ListedPathsOutsideTheirFolderNeedTheFlag) {
  edge::test::TempDir dir;
  const fs::path m = dir.path() / "m";
  fs::create_directories(m / "a");
  std::ofstream(m / "train.csv") << "image,cat\nok.png,1\na/../b.png,0\n../up.png,1\n/etc/passwd,0\n";
  edge::data::Problems problems;
  const Dataset d = edge::data::read_manifest(m / "train.csv", &problems);
  ASSERT_EQ(d.size(), 2);
  EXPECT_EQ(d.images->describe(1), (m / "b.png").string());
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[1].find("train.csv:5: image path '/etc/passwd' leaves"), std::string::npos) << problems[1];
  EXPECT_EQ(edge::data::read_manifest(m / "train.csv", nullptr, true).size(), 4);
  EXPECT_EQ(edge::data::read_manifest(m / "train.csv", nullptr, true).images->describe(3), "/etc/passwd");

  const fs::path json = dir.path() / "instances.json";
  std::ofstream(json) << R"({"images": [{"id": 7, "file_name": "../../etc/passwd"}, {"id": 8, "file_name": "b.jpg"}],
                             "categories": [{"id": 1, "name": "cat"}],
                             "annotations": [{"image_id": 7, "category_id": 1}, {"image_id": 8, "category_id": 1}]})";
  fs::create_directories(dir.path() / "train2014");
  const auto coco = error_message([&] { edge::data::read_coco(json, dir.path() / "train2014"); });
  EXPECT_NE(coco.find("instances.json: image path '../../etc/passwd' leaves"), std::string::npos) << coco;
  EXPECT_EQ(edge::data::read_coco(json, dir.path() / "train2014", nullptr, true).size(), 2);

  const fs::path voc = dir.path() / "VOC2012";
  fs::create_directories(voc / "ImageSets" / "Main");
  std::ofstream(voc / "ImageSets" / "Main" / "test.txt") << "2008_000001\n../../../etc/x\n";
  problems.clear();
  EXPECT_EQ(edge::data::read_voc_xml(voc, "test", &problems).size(), 1);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("test.txt: image path '../../../etc/x' leaves"), std::string::npos) << problems[0];

  const fs::path nus = dir.path() / "nus";
  fs::create_directories(nus);
  std::ofstream(nus / "nus_wide_train_imglist.txt") << "Flickr/a.jpg\n../b.jpg\n";
  std::string one_row(81 * 2, ' ');
  for (size_t i = 0; i < one_row.size(); i += 2) one_row[i] = '1';
  std::ofstream(nus / "nus_wide_train_label.txt") << one_row << "\n" << one_row << "\n";
  const auto nus_msg = error_message([&] { edge::data::read_nus_wide(nus, "train"); });
  EXPECT_NE(nus_msg.find("nus_wide_train_imglist.txt: image path '../b.jpg' leaves"), std::string::npos) << nus_msg;
  EXPECT_EQ(edge::data::read_nus_wide(nus, "train", nullptr, true).size(), 2);

  // Through the registry, the benchmark's flag reaches the reader.
  edge::data::BenchmarkSpec spec;
  spec.dataset = "manifest:" + (m / "train.csv").string();
  spec.need_oe = spec.need_ood = false;
  EXPECT_NE(error_message([&] { edge::data::open_benchmark(spec); }).find("leaves"), std::string::npos);
  spec.allow_outside_paths = true;
  EXPECT_EQ(edge::data::open_benchmark(spec).id_train.size(), 4);
}

// A spreadsheet's UTF-8 byte-order mark is no part of the first column's name; an image
// listed twice is a problem naming both lines (it would be trained on twice as often).
TEST(DatasetReaders, ManifestWithAByteOrderMarkAndARepeatedImage) {
  edge::test::TempDir dir;
  const auto file = dir.path() / "train.csv";
  std::ofstream(file) << "\xEF\xBB\xBFimage,cat,dog\na.png,1,0\nb.png,0,1\na.png,0,1\n";
  edge::data::Problems problems;
  const Dataset d = edge::data::read_manifest(file, &problems);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(d.size(), 2);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("train.csv:4: image a.png listed again (first on line 2)"), std::string::npos)
      << problems[0];
}

TEST(DatasetReaders, CocoImageWithoutAFileNameIsNamedByItsId) {
  edge::test::TempDir dir;
  const auto json = dir.path() / "instances.json";
  std::ofstream(json) << R"({"images": [{"id": 7, "file_name": "a.jpg"}, {"id": 8}],
                             "categories": [{"id": 1, "name": "cat"}], "annotations": []})";
  const auto msg = error_message([&] { edge::data::read_coco(json, dir.path()); });
  EXPECT_NE(msg.find("instances.json: the image entry with id 8 has no file_name"), std::string::npos) << msg;
}

TEST(DatasetReaders, ImageFolderAnyDepthSortedWithKnownPixels) {
  const Dataset d = edge::data::open_dataset("folder:" + (root() / "folder").string(), "", "test");
  ASSERT_EQ(d.size(), 3);  // notes.txt skipped; b.JPG upper case accepted
  EXPECT_FALSE(d.has_labels());
  EXPECT_NE(d.images->describe(0).find("a.png"), std::string::npos);
  EXPECT_NE(d.images->describe(1).find("b.JPG"), std::string::npos);
  EXPECT_NE(d.images->describe(2).find("c.bmp"), std::string::npos);
  const auto a = d.images->load(0);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{3, 3, 4}));
  for (int64_t y = 0; y < 3; ++y)
    for (int64_t x = 0; x < 4; ++x)
      for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(a[c][y][x].item<uint8_t>(), 10 * (y * 4 + x) + c);
  const auto cimg = d.images->load(2);
  for (int64_t y = 0; y < 2; ++y)
    for (int64_t x = 0; x < 2; ++x)
      for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(cimg[c][y][x].item<uint8_t>(), 60 * (y * 2 + x) + 7 * c + 1);
  const auto msg = error_message([&] { edge::data::open_dataset("folder:" + (root() / "empty").string(), "", "test"); });
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no images"), std::string::npos) << msg;
}

TEST(DatasetReaders, SvhnMatIsNchwWithKnownPixels) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio";
  const Dataset d = edge::data::open_dataset("svhn", root(), "test");
  ASSERT_EQ(d.size(), 5);
  for (int64_t n : {0, 4}) {
    const auto img = d.images->load(n);
    ASSERT_EQ(img.sizes(), (std::vector<int64_t>{3, 32, 32}));
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h : {0, 5, 31})
        for (int64_t w : {0, 9, 31}) EXPECT_EQ(img[c][h][w].item<uint8_t>(), (h * 7 + w * 3 + c * 50 + n * 11) % 256);
  }
  const auto msg = error_message([&] { edge::data::open_dataset("svhn", root() / "nowhere", "test"); });
  EXPECT_NE(msg.find("nowhere"), std::string::npos) << msg;
}

TEST(DatasetReaders, IdxGzAndRawInRawSubfolder) {
  const Dataset test = edge::data::open_dataset("mnist", root(), "test");
  ASSERT_EQ(test.size(), 3);
  const auto img = test.images->load(2);
  ASSERT_EQ(img.sizes(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(img[0][3][4].item<uint8_t>(), (2 * 31 + 3 * 5 + 4) % 256);
  const Dataset train = edge::data::open_dataset("mnist", root(), "train");
  ASSERT_EQ(train.size(), 2);
  EXPECT_EQ(train.images->load(1)[0][27][27].item<uint8_t>(), (101 * 31 + 27 * 5 + 27) % 256);
}

TEST(DatasetReaders, NoiseIsDeterministicPerImageAndKindsDiffer) {
  const Dataset a = edge::data::open_dataset("noise-blobs:5", "", "test");
  const Dataset b = edge::data::open_dataset("noise-blobs:50", "", "test");
  ASSERT_EQ(a.size(), 5);
  EXPECT_TRUE(torch::equal(a.images->load(3), b.images->load(3)));
  EXPECT_FALSE(torch::equal(a.images->load(3), a.images->load(4)));
  const auto blobs = a.images->load(0);
  EXPECT_EQ(blobs.sizes(), (std::vector<int64_t>{3, 32, 32}));
  // Blobs: thresholded, so every value is 0 or at least 0.75 * 255.
  EXPECT_TRUE(((blobs == 0) | (blobs >= 191)).all().item<bool>());
  const Dataset oe = edge::data::open_dataset("noise-blobs:5", "", "train");
  EXPECT_FALSE(torch::equal(oe.images->load(0), blobs));
  const auto u = edge::data::open_dataset("noise-uniform:200", "", "test");
  double mean = 0;
  for (int64_t i = 0; i < 200; ++i) mean += u.images->load(i).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(mean / 200, 127.5, 1.0);
  const auto g = edge::data::open_dataset("noise-gaussian:100", "", "test");
  torch::Tensor all = torch::stack({g.images->load(0), g.images->load(1)}).to(torch::kDouble) / 255.0;
  EXPECT_NEAR(all.mean().item<double>(), 0.5, 0.02);
  EXPECT_NEAR(all.std().item<double>(), 0.25, 0.02);
}

TEST(DatasetRegistry, UnknownNamesAndMissingFoldersNameTheFlag) {
  auto msg = error_message([] { edge::data::parse_dataset_spec("imagenet-1k", "--ood_data"); });
  EXPECT_NE(msg.find("--ood_data"), std::string::npos) << msg;
  EXPECT_NE(msg.find("voc2012"), std::string::npos) << msg;
  EXPECT_THROW(edge::data::parse_dataset_spec("imagenet-1k"), edge::UsageError);
  // The reference's own set names (weg.py) are aliases.
  EXPECT_EQ(edge::data::parse_dataset_spec("imagenet", "--ood_data").name, "imagenet-22k");
  EXPECT_EQ(edge::data::parse_dataset_spec("texture:dtd", "--oe_data").name, "textures");
  EXPECT_EQ(edge::data::parse_dataset_spec("sun50", "--ood_data").name, "sun");
  msg = error_message([] { edge::data::open_dataset("coco", "no_such_root", "train"); });
  EXPECT_NE(msg.find("no_such_root/coco"), std::string::npos) << msg;
  EXPECT_NE(msg.find("instances_"), std::string::npos) << msg;
  EXPECT_THROW(edge::data::open_dataset("coco", root(), "trainval"), edge::UsageError);
  EXPECT_THROW(edge::data::open_dataset("folder", root(), "test"), edge::UsageError);
  EXPECT_THROW(edge::data::open_dataset("noise-uniform:x", root(), "test"), edge::UsageError);
}

TEST(DatasetRegistry, OpenBenchmarkAssemblesIdOeAndOodSets) {
  if (!edge::data::mat_files_supported()) GTEST_SKIP() << "built without matio";
  edge::data::BenchmarkSpec spec;
  spec.dataset = "voc2012:" + (root() / "voc" / "VOCdevkit" / "VOC2012").string();
  spec.data_root = root();
  spec.oe_data = "folder:" + (root() / "folder").string();
  spec.ood_data = {"svhn", "mnist", "noise-uniform:4"};
  const auto b = edge::data::open_benchmark(spec);
  EXPECT_EQ(b.num_classes(), 20);
  EXPECT_EQ(b.id_train.size(), 2);
  EXPECT_EQ(b.id_val.size(), 1);
  EXPECT_EQ(b.id_test.size(), 1);
  EXPECT_EQ(b.oe_train.size(), 3);
  ASSERT_EQ(b.ood_tests.size(), 3u);
  EXPECT_EQ(b.ood_tests[0].size(), 5);
  EXPECT_EQ(b.ood_tests[1].size(), 3);  // MNIST t10k
  EXPECT_EQ(b.ood_tests[2].size(), 4);
  spec.ood_data = {"coco"};
  const auto msg = error_message([&] { edge::data::open_benchmark(spec); });
  EXPECT_NE(msg.find("--ood_data"), std::string::npos) << msg;
  spec.dataset = "svhn";
  EXPECT_THROW(edge::data::open_benchmark(spec), edge::UsageError);
}

}  // namespace

namespace {

TEST(DatasetReaders, BuiltInBenchmarkOpensAtTheSpecsSizesWithRegistrySetsBesideItsOwn) {
  edge::data::BenchmarkSpec spec;
  spec.dataset = "fashion-lt";
  spec.builtin.id_train = 16;
  spec.builtin.id_val = 8;
  spec.builtin.id_test = 12;
  spec.builtin.oe_train = 10;
  spec.builtin.ood_test = 5;
  spec.builtin.seed = 3;
  spec.oe_data = "fashion-lt-oe";
  spec.ood_data = {"noise-blobs:7", "bag", "fashion-lt-noise"};
  const edge::data::Benchmark b = edge::data::open_benchmark(spec);
  EXPECT_EQ(b.num_classes(), 8);
  EXPECT_EQ(b.id_train.size(), 16);
  EXPECT_EQ(b.id_val.size(), 8);
  EXPECT_EQ(b.id_test.size(), 12);
  EXPECT_EQ(b.oe_train.size(), 10);
  ASSERT_EQ(b.ood_tests.size(), 3u);  // in the order asked for, the registry's set among the built-in ones
  EXPECT_EQ(b.ood_tests[0].size(), 7);
  EXPECT_EQ(b.ood_tests[0].images->load(0).size(0), 3);  // generated noise stays 3x32x32 until the transform
  EXPECT_EQ(b.ood_tests[1].name, "bag");
  EXPECT_EQ(b.ood_tests[2].name, "noise");
  EXPECT_EQ(b.ood_tests[2].size(), 5);
  // The very sets the builder makes at those sizes and seed.
  edge::data::FashionLtParts parts;
  parts.id_train = parts.id_val = parts.oe_train = false;
  parts.ood = {"bag"};
  const edge::data::Benchmark direct = edge::data::build_fashion_lt(spec.builtin, parts);
  EXPECT_TRUE(torch::equal(edge::data::stack_images(b.id_test), edge::data::stack_images(direct.id_test)));
  EXPECT_TRUE(torch::equal(b.id_test.labels, direct.id_test.labels));
  EXPECT_TRUE(torch::equal(edge::data::stack_images(b.ood_tests[1]), edge::data::stack_images(direct.ood("bag"))));
  EXPECT_THROW(edge::data::open_dataset("fashion-lt:somewhere", "", "train"), edge::UsageError);
  // Its bare OOD names are its own only in a run on it: elsewhere `bag` is no registry name.
  spec.dataset = "manifest:/nonexistent";
  spec.ood_data = {"bag"};
  EXPECT_THROW(edge::data::open_benchmark(spec), std::runtime_error);
}

}  // namespace
