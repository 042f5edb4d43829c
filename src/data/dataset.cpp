#include "edge/data/dataset.h"

#include <fmt/format.h>

#include "edge/common/error.h"
#include "edge/data/image_io.h"

namespace edge::data {

namespace {

class MemorySource final : public ImageSource {
 public:
  MemorySource(torch::Tensor images, std::string name) : images_(std::move(images)), name_(std::move(name)) {
    TORCH_CHECK(images_.dim() == 4 && images_.scalar_type() == torch::kUInt8,
                "memory_source(", name_, "): expected uint8 [N, C, H, W], got ", images_.scalar_type(), " ",
                images_.sizes());
    TORCH_CHECK(images_.size(1) == 1 || images_.size(1) == 3,
                "memory_source(", name_, "): expected 1 or 3 channels, got ", images_.sizes());
  }
  int64_t size() const override { return images_.size(0); }
  torch::Tensor load(int64_t index) const override {
    check_index(index);
    return images_[index];
  }
  std::string describe(int64_t index) const override { return fmt::format("{}[{}]", name_, index); }

 private:
  void check_index(int64_t index) const {
    if (index < 0 || index >= size())
      throw DataError(fmt::format("{}: image index {} out of range [0, {})", name_, index, size()));
  }
  torch::Tensor images_;
  std::string name_;
};

class FileSource final : public ImageSource {
 public:
  explicit FileSource(std::vector<std::filesystem::path> files) : files_(std::move(files)) {}
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  torch::Tensor load(int64_t index) const override {
    if (index < 0 || index >= size())
      throw DataError(fmt::format("image index {} out of range [0, {})", index, size()));
    return load_rgb_image(files_[static_cast<size_t>(index)]);
  }
  std::string describe(int64_t index) const override {
    if (index < 0 || index >= size()) return fmt::format("<image {} of {}>", index, size());
    return files_[static_cast<size_t>(index)].string();
  }

 private:
  std::vector<std::filesystem::path> files_;
};

}  // namespace

std::shared_ptr<const ImageSource> memory_source(torch::Tensor images_u8, std::string name) {
  return std::make_shared<MemorySource>(std::move(images_u8), std::move(name));
}

std::shared_ptr<const ImageSource> file_source(std::vector<std::filesystem::path> files) {
  return std::make_shared<FileSource>(std::move(files));
}

}  // namespace edge::data
