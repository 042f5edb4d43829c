// Single-label sources: torchvision's ImageFolder layout and the CIFAR-10 binary batches.
#include <algorithm>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/text_util.h"
#include "edge/common/error.h"
#include "edge/data/readers.h"

namespace edge::data {

namespace fs = std::filesystem;

namespace {

// Formats torchvision's ImageFolder lists but this project's decoder does not read.
bool is_undecodable_extension(const std::string& ext) { return ext == ".tif" || ext == ".tiff" || ext == ".webp"; }

// The images of one class folder in torchvision's order: os.walk(followlinks=True) sorted by
// directory path, then each directory's file names sorted.
std::vector<fs::path> class_files(const fs::path& class_dir) {
  std::map<std::string, std::vector<std::string>> by_dir;  // std::string order = Python's str order for UTF-8
  by_dir[class_dir.string()];
  for (auto it = fs::recursive_directory_iterator(class_dir, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    const std::string ext = detail::lower(it->path().extension().string());
    const auto& exts = image_folder_extensions();
    if (std::find(exts.begin(), exts.end(), ext) == exts.end()) continue;  // skipped, as torchvision does
    if (is_undecodable_extension(ext))
      throw DataError(fmt::format("{}: {} images are not read here (expected jpg, jpeg, png, bmp, ppm or pgm)",
                                  it->path().string(), ext.substr(1)));
    by_dir[it->path().parent_path().string()].push_back(it->path().filename().string());
  }
  std::vector<fs::path> files;
  for (auto& [dir, names] : by_dir) {
    std::sort(names.begin(), names.end());
    for (const auto& n : names) files.push_back(fs::path(dir) / n);
  }
  return files;
}

struct CifarRecords {
  std::vector<uint8_t> pixels;  // records' image bytes laid end to end
  std::vector<float> labels;    // one-hot rows
  int64_t count = 0;
};

constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarImageBytes = 3 * kCifarSide * kCifarSide;

void read_cifar_batch(const fs::path& file, int64_t classes, CifarRecords& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DataError(fmt::format("{} not found (expected a CIFAR-10 binary batch)", file.string()));
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const int64_t record = 1 + kCifarImageBytes;
  if (bytes.empty() || static_cast<int64_t>(bytes.size()) % record != 0)
    throw DataError(fmt::format("{}: {} bytes is not a whole number of {}-byte records (1 label byte + 3072 pixel "
                                "bytes each)", file.string(), bytes.size(), record));
  const int64_t n = static_cast<int64_t>(bytes.size()) / record;
  for (int64_t i = 0; i < n; ++i) {
    const auto* r = reinterpret_cast<const uint8_t*>(bytes.data()) + i * record;
    if (r[0] >= classes)
      throw DataError(fmt::format("{}: record {} has label {} (expected 0..{})", file.string(), i, int(r[0]),
                                  classes - 1));
    out.pixels.insert(out.pixels.end(), r + 1, r + record);
    for (int64_t c = 0; c < classes; ++c) out.labels.push_back(c == r[0] ? 1.f : 0.f);
  }
  out.count += n;
}

}  // namespace

const std::vector<std::string>& image_folder_extensions() {
  static const std::vector<std::string> exts = {".jpg", ".jpeg", ".png", ".ppm", ".bmp",
                                                ".pgm", ".tif",  ".tiff", ".webp"};
  return exts;
}

Dataset read_image_folder_classes(const fs::path& root, const std::string& name) {
  if (!fs::is_directory(root))
    throw DataError(fmt::format("{} not found (expected an ImageFolder: one sub-folder of images per class)",
                                root.string()));
  std::vector<std::string> classes;
  for (const auto& e : fs::directory_iterator(root, fs::directory_options::follow_directory_symlink))
    if (e.is_directory()) classes.push_back(e.path().filename().string());
  std::sort(classes.begin(), classes.end());
  if (classes.empty())
    throw DataError(fmt::format("{}: no class folder (expected one sub-folder of images per class)", root.string()));
  std::vector<fs::path> files;
  std::vector<float> labels;
  std::vector<std::string> empty;
  for (size_t c = 0; c < classes.size(); ++c) {
    const auto in_class = class_files(root / classes[c]);
    if (in_class.empty()) empty.push_back(classes[c]);
    for (const auto& f : in_class) {
      files.push_back(f);
      for (size_t k = 0; k < classes.size(); ++k) labels.push_back(k == c ? 1.f : 0.f);
    }
  }
  if (!empty.empty())
    throw DataError(fmt::format("{}: class folder{} {} hold{} no image (expected jpg, jpeg, png, ppm, bmp or pgm files)",
                                root.string(), empty.size() == 1 ? "" : "s", fmt::join(empty, ", "),
                                empty.size() == 1 ? "s" : ""));
  Dataset d;
  d.name = name;
  d.class_names = classes;
  d.labels = label_matrix(labels, static_cast<int64_t>(files.size()), static_cast<int64_t>(classes.size()));
  d.images = file_source(std::move(files));
  return d;
}

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

Dataset read_cifar10_bin(const fs::path& dir, const std::string& split) {
  if (split != "train" && split != "test")
    throw UsageError(fmt::format("cifar10: unknown split '{}' (the binary distribution has train and test)", split));
  if (!fs::is_directory(dir))
    throw DataError(fmt::format("{} not found (expected the cifar-10-batches-bin folder)", dir.string()));
  std::vector<std::string> classes = cifar10_class_names();
  if (const auto meta = dir / "batches.meta.txt"; fs::is_regular_file(meta)) {
    classes.clear();
    for (const auto& line : detail::read_lines(meta, "CIFAR-10 class names, one per line"))
      if (!detail::trim(line).empty()) classes.push_back(detail::trim(line));
    if (classes.size() < 2 || classes.size() > 256)
      throw DataError(fmt::format("{}: expected 2 to 256 class names, got {}", meta.string(), classes.size()));
  }
  CifarRecords records;
  const int64_t n_classes = static_cast<int64_t>(classes.size());
  if (split == "train")
    for (int b = 1; b <= 5; ++b) read_cifar_batch(dir / fmt::format("data_batch_{}.bin", b), n_classes, records);
  else
    read_cifar_batch(dir / "test_batch.bin", n_classes, records);
  Dataset d;
  d.name = fmt::format("cifar10/{}", split);
  d.class_names = classes;
  d.labels = label_matrix(records.labels, records.count, n_classes);
  auto images = torch::from_blob(records.pixels.data(), {records.count, 3, kCifarSide, kCifarSide}, torch::kUInt8);
  d.images = memory_source(images.clone(), d.name);
  return d;
}

}  // namespace edge::data
