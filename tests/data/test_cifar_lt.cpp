// cifar-lt, the mosaic builder over CIFAR-10: built from a generated binary distribution
// (every record's pixels say which record it is), and from the shared JPEGs where unpacked.
#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/data/cifar_lt.h"
#include "edge/data/image_io.h"
#include "edge/data/registry.h"
#include "edge/data/transforms.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using edge::test::error_message;

constexpr int64_t kPerBatch = 60;  // 6 records of each class per batch

// Record i: label i % 10; the top-left pixel's red and green bytes are i mod 256 and i / 256
// (they identify the record), every other byte (i * 7 + c * 50 + h * 3 + w) mod 256.
void write_batch(const fs::path& file, int64_t first, int64_t n) {
  std::ofstream out(file, std::ios::binary);
  for (int64_t i = first; i < first + n; ++i) {
    out.put(static_cast<char>(i % 10));
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t p = 0; p < 1024; ++p)
        out.put(static_cast<char>(p == 0 ? (c == 0 ? i % 256 : c == 1 ? i / 256 : 0) : i * 7 + c * 50 + (p / 32) * 3 + p % 32));
  }
}

fs::path cifar_fixture(const fs::path& dir) {
  fs::create_directories(dir);
  for (int b = 1; b <= 5; ++b) write_batch(dir / ("data_batch_" + std::to_string(b) + ".bin"), (b - 1) * kPerBatch, kPerBatch);
  write_batch(dir / "test_batch.bin", 5 * kPerBatch, kPerBatch);  // records 300..359
  return dir;
}

edge::data::FashionLtOptions sizes() {
  edge::data::FashionLtOptions o;
  o.id_train = 300;
  o.id_val = 40;
  o.id_test = 50;
  o.oe_train = 60;
  o.ood_test = 30;
  o.seed = 3;
  return o;
}

edge::data::FashionLtParts all_parts() {
  edge::data::FashionLtParts p;
  p.ood = edge::data::cifar_lt_ood_names();
  return p;
}

// The records whose items fill the occupied cells of canvas `n` of `images` (grid x grid cells of 32 px).
std::set<int64_t> records_on(const torch::Tensor& images, int64_t n, int64_t grid = 2) {
  std::set<int64_t> ids;
  for (int64_t r = 0; r < grid; ++r)
    for (int64_t c = 0; c < grid; ++c) {
      const auto cell = images[n].slice(1, r * 32, r * 32 + 32).slice(2, c * 32, c * 32 + 32);
      if (cell.max().item<uint8_t>() == 0) continue;
      ids.insert(cell[0][0][0].item<uint8_t>() + 256 * cell[1][0][0].item<uint8_t>());
    }
  return ids;
}

// The records whose items fill the occupied cells of `set`'s canvases.
std::set<int64_t> records_in(const edge::data::Dataset& set, int64_t grid = 2) {
  const auto images = edge::data::stack_images(set);
  std::set<int64_t> ids;
  for (int64_t n = 0; n < images.size(0); ++n) ids.merge(records_on(images, n, grid));
  return ids;
}

TEST(CifarLt, BuildsRgbMosaicsOfTheRightRecords) {
  edge::test::TempDir tmp;
  const auto src = cifar_fixture(tmp.path() / "bin");
  const auto b = edge::data::build_cifar_lt(sizes(), src, all_parts());
  EXPECT_EQ(b.class_names, (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog"}));
  EXPECT_EQ(edge::data::stack_images(b.id_train).sizes(), (std::vector<int64_t>{300, 3, 64, 64}));
  EXPECT_EQ(b.id_train.labels.sizes(), (std::vector<int64_t>{300, 6}));
  const auto per_image = b.id_train.labels.sum(1);
  EXPECT_GE(per_image.min().item<float>(), 1.f);
  EXPECT_LE(per_image.max().item<float>(), 4.f);
  const auto counts = b.id_train.labels.sum(0);
  EXPECT_GT(counts[0].item<float>(), 4 * counts[5].item<float>());  // rho 50: head far above tail
  // Train items are train records (< 300) of the ID classes; val and test items are test
  // records (>= 300) of the ID classes, and none is in both.
  for (int64_t id : records_in(b.id_train)) EXPECT_TRUE(id < 300 && id % 10 < 6) << id;
  const auto val = records_in(b.id_val), test = records_in(b.id_test);
  for (int64_t id : val) EXPECT_EQ(test.count(id), 0u) << "record " << id << " in both val and test";
  for (const auto* split : {&val, &test})
    for (int64_t id : *split) EXPECT_TRUE(id >= 300 && id < 360 && id % 10 < 6) << id;
  // OE is unlabelled; the vehicles OOD set holds ships and trucks (labels 8, 9) of the test split.
  ASSERT_EQ(b.oe_train.size(), 60);
  EXPECT_FALSE(b.oe_train.has_labels());
  ASSERT_EQ(b.ood_tests.size(), 3u);
  for (int64_t id : records_in(b.ood("vehicles"))) EXPECT_TRUE(id >= 300 && id % 10 >= 8) << id;
  EXPECT_EQ(edge::data::stack_images(b.ood("textures")).sizes(), (std::vector<int64_t>{30, 3, 64, 64}));
  EXPECT_EQ(b.ood("noise").size(), 30);
}

TEST(CifarLt, DeterministicPerSeedAndTheRegistryBuildsItByName) {
  edge::test::TempDir tmp;
  const auto src = cifar_fixture(tmp.path() / "bin");
  edge::data::FashionLtParts parts;  // textures left out: decoding the PNGs is the slow part
  parts.ood = {"vehicles", "noise"};
  const auto direct = edge::data::build_cifar_lt(sizes(), src, parts);
  edge::data::BenchmarkSpec spec;
  spec.dataset = "cifar-lt:" + src.string();
  spec.builtin = sizes();
  spec.oe_data = "cifar-lt-oe";
  spec.ood_data = {"noise", "vehicles", "fashion-lt-noise"};  // bare names: this run's own sets
  const auto b = edge::data::open_benchmark(spec);
  EXPECT_TRUE(torch::equal(edge::data::stack_images(b.id_test), edge::data::stack_images(direct.id_test)));
  EXPECT_TRUE(torch::equal(edge::data::stack_images(b.oe_train), edge::data::stack_images(direct.oe_train)));
  ASSERT_EQ(b.ood_tests.size(), 3u);
  EXPECT_TRUE(torch::equal(edge::data::stack_images(b.ood_tests[1]), edge::data::stack_images(direct.ood("vehicles"))));
  EXPECT_EQ(b.ood_tests[2].images->load(0).size(0), 1);  // fashion-lt's own (gray) noise
  auto other = sizes();
  other.seed = 4;
  EXPECT_FALSE(torch::equal(edge::data::stack_images(edge::data::build_cifar_lt(other, src, parts).id_test),
                            edge::data::stack_images(direct.id_test)));
  const auto recipe = edge::data::run_recipe("cifar-lt:" + src.string(), 256, true);
  EXPECT_EQ(recipe.in_channels, 3);
  EXPECT_EQ(recipe.default_oe, "cifar-lt-oe");
  EXPECT_EQ(recipe.default_ood, edge::data::cifar_lt_ood_names());
  EXPECT_EQ(recipe.eval.output_shape(1), (std::vector<int64_t>{3, 64, 64}));
  EXPECT_EQ(edge::data::benchmark_class_names(spec).size(), 6u);
}

TEST(CifarLt, MissingSourcesAreNamed) {
  edge::test::TempDir tmp;
  auto msg = error_message<edge::DataError>(
      [&] { edge::data::build_cifar_lt(sizes(), tmp.path() / "none", all_parts()); });
  EXPECT_NE(msg.find("CIFAR-10 folder " + (tmp.path() / "none").string() + " not found"), std::string::npos) << msg;
  fs::create_directories(tmp.path() / "tree" / "train" / "cat");  // an ImageFolder without most classes
  fs::copy_file(edge::test::fixtures_dir() / "datasets" / "folder" / "a.png", tmp.path() / "tree" / "train" / "cat" / "a.png");
  edge::data::FashionLtParts train_only = all_parts();
  train_only.id_val = train_only.id_test = train_only.oe_train = false;
  train_only.ood.clear();
  msg = error_message<edge::DataError>([&] { edge::data::build_cifar_lt(sizes(), tmp.path() / "tree", train_only); });
  EXPECT_NE(msg.find("has no class 'airplane'"), std::string::npos) << msg;
}

TEST(CifarLt, MaterialisedFilesReadBackAsTheSamePixelsAndLabels) {
  edge::test::TempDir tmp;
  const auto src = cifar_fixture(tmp.path() / "bin");
  const fs::path dir = tmp.path() / "written";
  const auto r = edge::test::run_cli({"data", "materialise", "--dataset", "cifar-lt:" + src.string(), "--out",
                                      dir.string(), "--id_train", "30", "--id_val", "10", "--id_test", "12",
                                      "--oe_train", "8", "--ood_test", "5", "--data_seed", "3",
                                      "--ood_data", "vehicles,noise"});  // textures left out: slow to decode
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("--dataset manifest:" + dir.string()), std::string::npos) << r.out;
  auto o = sizes();
  o.id_train = 30, o.id_val = 10, o.id_test = 12, o.oe_train = 8, o.ood_test = 5;
  edge::data::FashionLtParts parts;
  parts.ood = {"vehicles", "noise"};
  const auto built = edge::data::build_cifar_lt(o, src, parts);
  edge::data::BenchmarkSpec spec;
  spec.dataset = "manifest:" + dir.string();
  spec.oe_data = "folder:" + (dir / "oe").string();
  for (const auto& set : parts.ood) spec.ood_data.push_back("folder:" + (dir / "ood" / set).string());
  const auto back = edge::data::open_benchmark(spec);
  EXPECT_EQ(back.class_names, built.class_names);
  for (auto [a, b] : {std::pair{&back.id_train, &built.id_train}, {&back.id_val, &built.id_val}, {&back.id_test, &built.id_test}}) {
    EXPECT_TRUE(torch::equal(edge::data::stack_images(*a), edge::data::stack_images(*b))) << b->name;
    EXPECT_TRUE(torch::equal(a->labels, b->labels)) << b->name;
  }
  EXPECT_TRUE(torch::equal(edge::data::stack_images(back.oe_train), edge::data::stack_images(built.oe_train)));
  for (size_t i = 0; i < parts.ood.size(); ++i)
    EXPECT_TRUE(torch::equal(edge::data::stack_images(back.ood_tests[i]), edge::data::stack_images(built.ood_tests[i])));
  // An existing folder is refused, and nothing is left beside it.
  const auto again = edge::test::run_cli({"data", "materialise", "--dataset", "cifar-lt:" + src.string(), "--out",
                                          dir.string(), "--id_train", "30"});
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("--out: " + dir.string() + " already exists"), std::string::npos) << again.err;
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path())) ++entries;
  EXPECT_EQ(entries, 2u);  // bin/ and written/
}

TEST(CifarLt, DataVerifyPrintsThePerClassCountsHeadToTail) {
  edge::test::TempDir tmp;
  const auto src = cifar_fixture(tmp.path() / "bin");
  const auto r = edge::test::run_cli({"data", "verify", "--dataset", "cifar-lt:" + src.string(), "--id_train", "400",
                                      "--id_val", "40", "--id_test", "50", "--ood_test", "10", "--ood_data",
                                      "vehicles,noise"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const auto train = r.out.find("ID train id_train: 400 images, 6 classes");
  ASSERT_NE(train, std::string::npos) << r.out;
  const auto head = r.out.find("1  airplane", train), tail = r.out.find("6  dog", train);
  EXPECT_TRUE(head != std::string::npos && tail != std::string::npos && head < tail) << r.out;
  EXPECT_NE(r.out.find("OOD test vehicles: 10 images"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data verify: no problems"), std::string::npos) << r.out;
}

// The mosaic_* options choose cifar-lt's classes and layout: a 3x3 grid of up to 9 items of
// {cat, dog, bird} (CIFAR labels 3, 5, 2), OE from frog, the near set from ship; every canvas
// is labelled with exactly the classes of the records on it.
TEST(CifarLt, ClassesAndLayoutComeFromTheMosaicOptions) {
  edge::test::TempDir tmp;
  const auto src = cifar_fixture(tmp.path() / "bin");
  auto o = sizes();
  o.mosaic_id_classes = {"cat", "dog", "bird"};
  o.mosaic_oe_classes = {"frog"};
  o.mosaic_near_classes = {"ship"};
  o.mosaic_grid = 3;
  o.mosaic_items = 9;
  edge::data::FashionLtParts parts;
  parts.ood = {"vehicles", "noise"};
  const auto b = edge::data::build_cifar_lt(o, src, parts);
  EXPECT_EQ(b.class_names, o.mosaic_id_classes);
  const auto images = edge::data::stack_images(b.id_train);
  ASSERT_EQ(images.sizes(), (std::vector<int64_t>{300, 3, 96, 96}));
  const std::vector<int64_t> cifar_label = {3, 5, 2};
  int64_t most = 0;
  for (int64_t n = 0; n < images.size(0); ++n) {
    std::vector<float> want(3, 0.f);
    const auto on = records_on(images, n, 3);
    for (int64_t id : on) {
      ASSERT_LT(id, 300) << "a train canvas holds test record " << id;
      const auto c = std::find(cifar_label.begin(), cifar_label.end(), id % 10) - cifar_label.begin();
      ASSERT_LT(c, 3) << "record " << id << " of CIFAR class " << id % 10 << " is not an ID class";
      want[static_cast<size_t>(c)] = 1.f;
    }
    most = std::max<int64_t>(most, static_cast<int64_t>(on.size()));
    EXPECT_TRUE(torch::equal(b.id_train.labels[n], torch::tensor(want))) << "canvas " << n;
  }
  EXPECT_GT(most, 4) << "up to 9 items per canvas";
  for (int64_t id : records_in(b.ood("vehicles"), 3)) EXPECT_TRUE(id >= 300 && id % 10 == 8) << id;
  EXPECT_EQ(edge::data::stack_images(b.ood("noise")).sizes(), (std::vector<int64_t>{30, 3, 96, 96}));
  // The model's input side follows the canvas; fashion-lt refuses the flags.
  EXPECT_EQ(edge::data::run_recipe("cifar-lt", 256, false, o).eval.output_shape(1), (std::vector<int64_t>{3, 96, 96}));
  const auto msg = error_message<edge::UsageError>([&] { edge::data::run_recipe("fashion-lt", 256, false, o); });
  EXPECT_NE(msg.find("--mosaic_*: fashion-lt's classes and layout are fixed"), std::string::npos) << msg;
}

// Writes `image` (uint8 [C, H, W], C 1 or 3) as a PNG file.
void write_png(const fs::path& file, const torch::Tensor& image) {
  fs::create_directories(file.parent_path());
  const auto hwc = image.permute({1, 2, 0}).contiguous();
  ASSERT_TRUE(stbi_write_png(file.c_str(), static_cast<int>(image.size(2)), static_cast<int>(image.size(1)),
                             static_cast<int>(image.size(0)), hwc.data_ptr<uint8_t>(),
                             static_cast<int>(image.size(0) * image.size(2))));
}

// mosaic:PATH over an ImageFolder of odd-sized colour and gray pictures: each item is resized
// to the cell (and repeated to RGB) exactly as transforms.h's resize does it, and the CLI
// builds it from flags (data verify: the per-class counts head to tail, the `near` set).
TEST(Mosaic, AnyImageFolderIsASourceWithItsItemsResizedToTheCell) {
  edge::test::TempDir tmp;
  const fs::path root = tmp.path() / "pics";
  torch::manual_seed(7);
  const std::vector<std::string> classes = {"ant", "bee", "cow", "doe", "elk"};
  for (size_t c = 0; c < classes.size(); ++c)
    for (const char* split : {"train", "test"})
      for (int i = 0; i < 4; ++i) {
        const int64_t channels = i % 2 == 0 ? 3 : 1, h = 20 + 3 * i, w = 26 - 2 * i;
        write_png(root / split / classes[c] / fmt::format("{}.png", i),
                  torch::randint(0, 256, {channels, h, w}, torch::kUInt8));
      }
  edge::data::FashionLtOptions o = sizes();
  o.id_train = 40, o.id_val = 6, o.id_test = 6, o.oe_train = 6, o.ood_test = 5;
  o.mosaic_id_classes = {"cow", "ant", "bee"};
  o.mosaic_oe_classes = {"doe"};
  o.mosaic_near_classes = {"elk"};
  o.mosaic_grid = 1;
  o.mosaic_items = 1;
  o.mosaic_cell = 24;
  edge::data::FashionLtParts parts;
  parts.ood = {"near"};
  const auto b = edge::data::build_class_mosaic(o, root, parts);
  EXPECT_EQ(b.class_names, o.mosaic_id_classes);
  // One item per 24x24 canvas: each canvas is one source picture of its labelled class, resized.
  const auto images = edge::data::stack_images(b.id_train);
  ASSERT_EQ(images.sizes(), (std::vector<int64_t>{40, 3, 24, 24}));
  for (int64_t n = 0; n < images.size(0); ++n) {
    const int64_t c = b.id_train.labels[n].argmax().item<int64_t>();
    bool found = false;
    for (int i = 0; i < 4 && !found; ++i) {
      const auto item = edge::data::load_rgb_image(root / "train" / o.mosaic_id_classes[c] / fmt::format("{}.png", i));
      found = torch::equal(edge::data::resize(item, 24, 24), images[n]);
    }
    EXPECT_TRUE(found) << "canvas " << n << " is no resized picture of " << o.mosaic_id_classes[c];
  }
  EXPECT_EQ(edge::data::stack_images(b.ood("near")).sizes(), (std::vector<int64_t>{5, 3, 24, 24}));

  const auto verify = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"data", "verify", "--dataset", "mosaic:" + root.string(), "--id_train", "60",
                                     "--id_val", "6", "--id_test", "6", "--ood_test", "5", "--ood_data", "near,noise"};
    args.insert(args.end(), extra.begin(), extra.end());
    return edge::test::run_cli(args);
  };
  auto r = verify({"--mosaic_id_classes", "cow,ant,bee", "--mosaic_oe_classes", "doe", "--mosaic_near_classes", "elk"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const auto head = r.out.find("1  cow"), tail = r.out.find("3  bee");
  EXPECT_TRUE(head != std::string::npos && tail != std::string::npos && head < tail) << r.out;
  EXPECT_NE(r.out.find("OOD test near: 5 images"), std::string::npos) << r.out;
  // Bad choices are one-line errors naming the flag.
  for (const auto& [extra, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "--mosaic_id_classes: mosaic:PATH needs its classes"},
           {{"--mosaic_id_classes", "cow", "--mosaic_oe_classes", "doe", "--mosaic_near_classes", "elk"},
            "--mosaic_id_classes: expected at least 2 class folder names, got 1"},
           {{"--mosaic_id_classes", "cow,ant", "--mosaic_oe_classes", "ant", "--mosaic_near_classes", "elk"},
            "--mosaic_oe_classes: class 'ant' is named twice"},
           {{"--mosaic_id_classes", "cow,owl", "--mosaic_oe_classes", "doe", "--mosaic_near_classes", "elk"},
            "has no class 'owl' (--mosaic_id_classes"},
           {{"--mosaic_id_classes", "cow,ant", "--mosaic_oe_classes", "doe", "--mosaic_near_classes", "elk",
             "--mosaic_items", "5"},
            "--mosaic_items must be in 1..4"}}) {
    r = verify(extra);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(CifarLt, BuildsFromTheSharedJpegsWhereUnpacked) {
  const fs::path src = edge::data::cifar_lt_default_source("");
  if (!fs::is_directory(src / "train")) GTEST_SKIP() << src << " absent (the set-up unpacks ../shared/data's copy)";
  auto o = sizes();
  o.id_train = 200;
  const auto b = edge::data::build_cifar_lt(o, src, all_parts());
  EXPECT_EQ(edge::data::stack_images(b.id_val).sizes(), (std::vector<int64_t>{40, 3, 64, 64}));
  EXPECT_EQ(b.ood_tests.size(), 3u);
  // Real photographs: the canvases are far from constant, unlike a decoding failure's zeros.
  EXPECT_GT(edge::data::stack_images(b.id_train).to(torch::kFloat).std().item<float>(), 30.f);
}

}  // namespace
