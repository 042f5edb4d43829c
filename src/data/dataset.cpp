#include "edge/data/dataset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "edge/common/error.h"
#include "edge/data/image_io.h"

namespace edge::data {

std::pair<torch::Tensor, int> ImageSource::load_reduced(int64_t index, const ReductionChooser& choose) const {
  torch::Tensor img = load(index);
  choose(img.size(1), img.size(2));
  return {std::move(img), 1};
}

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
  std::pair<torch::Tensor, int> load_reduced(int64_t index, const ReductionChooser& choose) const override {
    if (index < 0 || index >= size())
      throw DataError(fmt::format("image index {} out of range [0, {})", index, size()));
    return load_rgb_image_reduced(files_[static_cast<size_t>(index)], choose);
  }
  std::string describe(int64_t index) const override {
    if (index < 0 || index >= size()) return fmt::format("<image {} of {}>", index, size());
    return files_[static_cast<size_t>(index)].string();
  }

 private:
  std::vector<std::filesystem::path> files_;
};

class SubsetSource final : public ImageSource {
 public:
  SubsetSource(std::shared_ptr<const ImageSource> base, std::vector<int64_t> indices)
      : base_(std::move(base)), indices_(std::move(indices)) {}
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  torch::Tensor load(int64_t index) const override { return base_->load(base_index(index)); }
  std::pair<torch::Tensor, int> load_reduced(int64_t index, const ReductionChooser& choose) const override {
    return base_->load_reduced(base_index(index), choose);
  }
  std::string describe(int64_t index) const override {
    if (index < 0 || index >= size()) return fmt::format("<image {} of {}>", index, size());
    return base_->describe(base_index(index));
  }

 private:
  int64_t base_index(int64_t index) const {
    if (index < 0 || index >= size())
      throw DataError(fmt::format("image index {} out of range [0, {})", index, size()));
    return indices_[static_cast<size_t>(index)];
  }
  std::shared_ptr<const ImageSource> base_;
  std::vector<int64_t> indices_;
};

}  // namespace

Dataset subset(const Dataset& set, const std::vector<int64_t>& indices) {
  for (int64_t i : indices)
    if (i < 0 || i >= set.size())
      throw DataError(fmt::format("{}: subset index {} out of range [0, {})", set.name, i, set.size()));
  Dataset out;
  out.name = set.name + " (subset)";
  out.class_names = set.class_names;
  out.images = std::make_shared<SubsetSource>(set.images, indices);
  if (set.has_labels()) out.labels = set.labels.index_select(0, torch::tensor(indices, torch::kInt64));
  return out;
}

torch::Tensor stack_images(const Dataset& set) {
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < set.size(); ++i) {
    images.push_back(set.images->load(i));
    if (images.back().sizes() != images.front().sizes())
      throw DataError(fmt::format("{}: image {} is {}, image 0 is {} (expected one size to stack)", set.name,
                                  set.images->describe(i), fmt::join(images.back().sizes(), "x"),
                                  fmt::join(images.front().sizes(), "x")));
  }
  if (images.empty()) return torch::empty({0, 1, 0, 0}, torch::kUInt8);
  return torch::stack(images);
}

const Dataset& Benchmark::ood(const std::string& set_name) const {
  for (const auto& s : ood_tests)
    if (s.name == set_name) return s;
  std::string known;
  for (const auto& s : ood_tests) known += (known.empty() ? "" : ", ") + s.name;
  throw UsageError(fmt::format("unknown OOD set '{}' for benchmark {} (expected one of: {})", set_name, name, known));
}

std::vector<int64_t> even_subsample(int64_t size, int64_t n) {
  if (n <= 0 || n >= size) n = size;
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = i * size / n;
  return out;
}

std::shared_ptr<const ImageSource> memory_source(torch::Tensor images_u8, std::string name) {
  return std::make_shared<MemorySource>(std::move(images_u8), std::move(name));
}

std::shared_ptr<const ImageSource> file_source(std::vector<std::filesystem::path> files) {
  return std::make_shared<FileSource>(std::move(files));
}

torch::Tensor label_matrix(const std::vector<float>& flat, int64_t rows, int64_t classes) {
  TORCH_CHECK(rows >= 0 && classes >= 0 && flat.size() == static_cast<size_t>(rows * classes),
              "label_matrix: expected ", rows, " x ", classes, " labels, got ", flat.size(), " values");
  return torch::from_blob(const_cast<float*>(flat.data()), {rows, classes}, torch::kFloat32).clone();
}

}  // namespace edge::data
