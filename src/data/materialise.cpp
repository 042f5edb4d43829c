#include "edge/data/materialise.h"

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <stb/stb_image_write.h>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"

namespace edge::data {

namespace fs = std::filesystem;

namespace {

// One image (uint8 [C, H, W], C = 1 or 3) as PNG bytes.
std::string png_bytes(const torch::Tensor& image, const std::string& what) {
  TORCH_CHECK(image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3) && image.scalar_type() == torch::kUInt8,
              "materialise: expected a uint8 [1 or 3, H, W] image for ", what, ", got ", image.sizes());
  const torch::Tensor hwc = image.permute({1, 2, 0}).contiguous();
  std::string out;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), size); };
  const int c = static_cast<int>(image.size(0)), w = static_cast<int>(image.size(2)), h = static_cast<int>(image.size(1));
  if (!stbi_write_png_to_func(append, &out, w, h, c, hwc.data_ptr<uint8_t>(), w * c))
    throw DataError(fmt::format("cannot encode {} as PNG", what));
  return out;
}

// Every image of `set` as DIR/rel/NNNNNN.png; returns the relative file names.
std::vector<std::string> write_images(const Dataset& set, const fs::path& root, const fs::path& rel) {
  fs::create_directories(root / rel);
  std::vector<std::string> names;
  for (int64_t i = 0; i < set.size(); ++i) {
    const std::string name = (rel / fmt::format("{:06d}.png", i)).string();
    const std::string bytes = png_bytes(set.images->load(i), set.images->describe(i));
    write_file_bytes(root / name, bytes.data(), bytes.size());
    names.push_back(name);
  }
  return names;
}

void write_split(const Dataset& set, const std::string& split, const fs::path& root) {
  const auto names = write_images(set, root, fs::path("images") / split);
  std::string csv = "image,labels\n";
  for (int64_t i = 0; i < set.size(); ++i) {
    std::vector<std::string> positive;
    if (set.has_labels())
      for (int64_t c = 0; c < set.labels.size(1); ++c)
        if (set.labels[i][c].item<float>() > 0.5f) positive.push_back(set.class_names[static_cast<size_t>(c)]);
    csv += fmt::format("{},{}\n", names[static_cast<size_t>(i)], fmt::join(positive, "|"));
  }
  write_file_bytes(root / (split + ".csv"), csv.data(), csv.size());
}

void check_class_names(const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (n.empty() || n.find_first_of(",|\n\r") != std::string::npos)
      throw DataError(fmt::format("materialise: class name '{}' cannot be written to a manifest (no ',' or '|')", n));
}

MaterialisedBenchmark write_all(const Benchmark& b, const fs::path& tmp, const fs::path& dir) {
  MaterialisedBenchmark m;
  m.dataset = "manifest:" + dir.string();
  const std::string classes = fmt::format("{}\n", fmt::join(b.class_names, "\n"));
  write_file_bytes(tmp / "classes.txt", classes.data(), classes.size());
  const std::pair<const Dataset*, const char*> splits[] = {{&b.id_train, "train"}, {&b.id_val, "val"}, {&b.id_test, "test"}};
  for (const auto& [set, split] : splits)
    if (set->size() > 0) write_split(*set, split, tmp);
  if (b.oe_train.size() > 0) {
    write_images(b.oe_train, tmp, "oe");
    m.oe_data = "folder:" + (dir / "oe").string();
  }
  for (const auto& set : b.ood_tests) {
    write_images(set, tmp, fs::path("ood") / set.name);
    m.ood_data.push_back("folder:" + (dir / "ood" / set.name).string());
  }
  const std::string readme = fmt::format(
      "{} written by `edge data materialise`; read it back with\n  --dataset {}{}{}\n", b.name, m.dataset,
      m.oe_data.empty() ? "" : " --oe_data " + m.oe_data,
      m.ood_data.empty() ? "" : fmt::format(" --ood_data {}", fmt::join(m.ood_data, ",")));
  write_file_bytes(tmp / "README.txt", readme.data(), readme.size());
  return m;
}

}  // namespace

MaterialisedBenchmark materialise_benchmark(const Benchmark& b, const fs::path& dir) {
  if (fs::exists(dir)) throw UsageError(fmt::format("--out: {} already exists (expected a new folder)", dir.string()));
  check_class_names(b.class_names);
  const fs::path target = fs::absolute(dir);
  const fs::path tmp = target.parent_path() / fmt::format(".{}.tmp{}", target.filename().string(), ::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    const MaterialisedBenchmark m = write_all(b, tmp, dir);
    fs::rename(tmp, target);
    return m;
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace edge::data
