// Single-label readers: the CIFAR-10 binary batches (a fixture generated here) and
// torchvision's ImageFolder layout (its order checked live against torchvision).
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "edge/common/error.h"
#include "edge/data/readers.h"
#include "edge/data/registry.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using edge::test::error_message;

// Byte of record `i`'s pixel (c, h, w) in the generated batches: a function of all four, so a
// wrong plane order or record offset shows.
uint8_t pixel(int64_t i, int64_t c, int64_t h, int64_t w) { return static_cast<uint8_t>(i * 7 + c * 50 + h * 3 + w); }

// Writes `n` records labelled i % classes, starting at record number `first`.
void write_batch(const fs::path& file, int64_t first, int64_t n, int classes) {
  std::ofstream out(file, std::ios::binary);
  for (int64_t i = first; i < first + n; ++i) {
    out.put(static_cast<char>(i % classes));
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 32; ++h)
        for (int64_t w = 0; w < 32; ++w) out.put(static_cast<char>(pixel(i, c, h, w)));
  }
}

void write_cifar_fixture(const fs::path& dir, int64_t per_batch = 4) {
  fs::create_directories(dir);
  for (int b = 1; b <= 5; ++b) write_batch(dir / ("data_batch_" + std::to_string(b) + ".bin"), (b - 1) * per_batch, per_batch, 10);
  write_batch(dir / "test_batch.bin", 100, per_batch, 10);
}

TEST(Cifar10Binary, ReadsRecordsAsPlanarRgbWithOneHotLabels) {
  edge::test::TempDir tmp;
  write_cifar_fixture(tmp.path());
  const auto train = edge::data::read_cifar10_bin(tmp.path(), "train");
  ASSERT_EQ(train.size(), 20);
  EXPECT_EQ(train.class_names, edge::data::cifar10_class_names());
  EXPECT_EQ(train.labels.sizes(), (std::vector<int64_t>{20, 10}));
  for (int64_t i : {0, 7, 19}) {
    const auto img = train.images->load(i);
    ASSERT_EQ(img.sizes(), (std::vector<int64_t>{3, 32, 32}));
    for (auto [c, h, w] : {std::tuple{0, 0, 0}, {1, 5, 9}, {2, 31, 30}})
      EXPECT_EQ(img[c][h][w].item<uint8_t>(), pixel(i, c, h, w)) << "record " << i;
    EXPECT_EQ(train.labels[i].argmax().item<int64_t>(), i % 10);
    EXPECT_EQ(train.labels[i].sum().item<float>(), 1.f);
  }
  const auto test = edge::data::read_cifar10_bin(tmp.path(), "test");
  ASSERT_EQ(test.size(), 4);
  EXPECT_EQ(test.images->load(1)[2][3][4].item<uint8_t>(), pixel(101, 2, 3, 4));
}

TEST(Cifar10Binary, ClassNamesComeFromBatchesMeta) {
  edge::test::TempDir tmp;
  write_cifar_fixture(tmp.path());
  std::ofstream(tmp.path() / "batches.meta.txt") << "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n";
  EXPECT_EQ(edge::data::read_cifar10_bin(tmp.path(), "test").class_names,
            (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}));
  std::ofstream(tmp.path() / "batches.meta.txt") << "a\nb\nc\n";  // labels up to 9 with three names
  EXPECT_NE(error_message<edge::DataError>([&] { edge::data::read_cifar10_bin(tmp.path(), "test"); })
                .find("test_batch.bin: record 3 has label 3 (expected 0..2)"),
            std::string::npos);
}

TEST(Cifar10Binary, BadBatchesAreNamed) {
  edge::test::TempDir tmp;
  write_cifar_fixture(tmp.path());
  fs::remove(tmp.path() / "data_batch_3.bin");
  EXPECT_NE(error_message<edge::DataError>([&] { edge::data::read_cifar10_bin(tmp.path(), "train"); })
                .find("data_batch_3.bin not found"),
            std::string::npos);
  fs::resize_file(tmp.path() / "test_batch.bin", 3073 * 2 + 100);
  const auto msg = error_message<edge::DataError>([&] { edge::data::read_cifar10_bin(tmp.path(), "test"); });
  EXPECT_NE(msg.find("test_batch.bin: 6246 bytes is not a whole number of 3073-byte records"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  EXPECT_THROW(edge::data::read_cifar10_bin(tmp.path(), "val"), edge::UsageError);
  EXPECT_NE(error_message<edge::DataError>([&] { edge::data::read_cifar10_bin(tmp.path() / "nope", "test"); })
                .find("nope not found"),
            std::string::npos);
}

// A tree of PNG copies: root/<class>/... with nested folders, odd files and a loose file.
fs::path make_image_folder(const fs::path& root) {
  const fs::path png = edge::test::fixtures_dir() / "datasets" / "folder" / "a.png";
  for (const auto& rel : {"dog/2.png", "dog/10.PNG", "dog/sub/1.png", "dog/sub-2/0.png", "dog/sub/deep/3.png",
                          "cat/x.png", "cat/a/b/c.png"}) {
    fs::create_directories((root / rel).parent_path());
    fs::copy_file(png, root / rel);
  }
  std::ofstream(root / "dog" / "notes.txt") << "not an image";
  std::ofstream(root / "loose.png") << "belongs to no class";
  return root;
}

TEST(ImageFolderClasses, ClassesSortedImagesInTorchvisionsOrderOddFilesSkipped) {
  edge::test::TempDir tmp;
  const auto root = make_image_folder(tmp.path() / "tree");
  const auto d = edge::data::read_image_folder_classes(root, "tree");
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(d.size(), 7);
  std::vector<std::string> got;
  for (int64_t i = 0; i < d.size(); ++i)
    got.push_back(fs::relative(d.images->describe(i), root).string() + " " +
                  std::to_string(d.labels[i].argmax().item<int64_t>()));
  // Directories by path ("dog/sub" < "dog/sub-2" < "dog/sub/deep"), then file names.
  const std::vector<std::string> expected = {"cat/x.png 0",       "cat/a/b/c.png 0",   "dog/10.PNG 1",
                                             "dog/2.png 1",       "dog/sub/1.png 1",   "dog/sub-2/0.png 1",
                                             "dog/sub/deep/3.png 1"};
  EXPECT_EQ(got, expected);
  EXPECT_EQ(d.images->load(0).size(0), 3);

  if (!edge::test::python_has_modules("torchvision")) GTEST_SKIP() << "Debian's python3-torchvision not installed";
  const std::string py = edge::test::run_python(
      "import os\nfrom torchvision.datasets import ImageFolder\nf = ImageFolder('" + root.string() +
      "')\nprint(f.classes)\nfor p, t in f.samples: print(os.path.relpath(p, '" + root.string() + "'), t)\n");
  std::string expected_py = "['cat', 'dog']\n";
  for (const auto& line : expected) expected_py += line + "\n";
  EXPECT_EQ(py, expected_py);
}

TEST(ImageFolderClasses, EmptyClassesAndUnreadableFormatsAreOneLineErrors) {
  edge::test::TempDir tmp;
  const auto root = make_image_folder(tmp.path() / "tree");
  fs::create_directories(root / "emu");
  fs::create_directories(root / "ant");
  std::ofstream(root / "ant" / "readme.txt") << "x";
  auto msg = error_message<edge::DataError>([&] { edge::data::read_image_folder_classes(root, "tree"); });
  EXPECT_NE(msg.find("class folders ant, emu hold no image"), std::string::npos) << msg;
  EXPECT_NE(msg.find(root.string()), std::string::npos);
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  fs::remove_all(root / "emu");
  fs::remove_all(root / "ant");
  std::ofstream(root / "cat" / "photo.webp") << "RIFF";
  msg = error_message<edge::DataError>([&] { edge::data::read_image_folder_classes(root, "tree"); });
  EXPECT_NE(msg.find("cat/photo.webp: webp images are not read here"), std::string::npos) << msg;
  const fs::path flat = tmp.path() / "flat";
  fs::create_directories(flat);
  fs::copy_file(edge::test::fixtures_dir() / "datasets" / "folder" / "a.png", flat / "a.png");
  EXPECT_NE(error_message<edge::DataError>([&] { edge::data::read_image_folder_classes(flat, "flat"); })
                .find("no class folder"),
            std::string::npos);
}

TEST(ImageFolderClasses, ReadsPortablePixmaps) {
  edge::test::TempDir tmp;
  fs::create_directories(tmp.path() / "k");
  std::ofstream f(tmp.path() / "k" / "p.ppm", std::ios::binary);
  f << "P6\n2 1\n255\n";
  for (uint8_t v : {10, 20, 30, 40, 50, 60}) f.put(static_cast<char>(v));
  f.close();
  const auto d = edge::data::read_image_folder_classes(tmp.path(), "k");
  const auto img = d.images->load(0);
  ASSERT_EQ(img.sizes(), (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(img[2][0][1].item<uint8_t>(), 60);
}

TEST(ImageFolderClasses, RegistryNamesOpenThemAsOodSets) {
  edge::test::TempDir tmp;
  write_cifar_fixture(tmp.path() / "cifar-10-batches-bin");
  const auto bin = edge::data::open_dataset("cifar10", tmp.path(), "test");
  EXPECT_EQ(bin.size(), 4);
  make_image_folder(tmp.path() / "photos" / "test");
  make_image_folder(tmp.path() / "photos" / "train");
  fs::remove(tmp.path() / "photos" / "train" / "dog" / "2.png");
  EXPECT_EQ(edge::data::open_dataset("imagefolder:" + (tmp.path() / "photos").string(), "", "test").size(), 7);
  EXPECT_EQ(edge::data::open_dataset("imagefolder:" + (tmp.path() / "photos").string(), "", "train").size(), 6);
  edge::data::BenchmarkSpec spec;
  spec.dataset = "fashion-lt";
  spec.builtin.id_train = spec.builtin.id_val = spec.builtin.id_test = 8;
  spec.need_train = spec.need_val = spec.need_oe = false;
  spec.ood_data = {"cifar10:" + (tmp.path() / "cifar-10-batches-bin").string(),
                   "imagefolder:" + (tmp.path() / "photos").string()};
  const auto b = edge::data::open_benchmark(spec);
  ASSERT_EQ(b.ood_tests.size(), 2u);
  EXPECT_EQ(b.ood_tests[0].size(), 4);
  EXPECT_FALSE(b.ood_tests[0].has_labels());
  EXPECT_EQ(b.ood_tests[1].size(), 7);
}

}  // namespace
