// MS-COCO instances json -> multi-hot labels, parsed with a SAX handler (no DOM: the train
// json is 450 MB and a DOM of it would take several GB).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/listed_path.h"
#include "edge/common/error.h"
#include "edge/data/readers.h"

namespace edge::data {

namespace {

struct CocoTables {
  std::vector<std::pair<int64_t, std::string>> images;      // id, file_name
  std::vector<std::pair<int64_t, int64_t>> annotations;     // image_id, category_id
  std::vector<std::pair<int64_t, std::string>> categories;  // id, name
};

// Keeps only the fields of the elements of the top-level arrays "images", "annotations"
// and "categories" (depth 3: root object > array > element object); everything deeper
// (segmentations, bboxes) is tokenised and dropped.
class CocoSax : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit CocoSax(CocoTables& t) : t_(t) {}

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t v) override { return integer(static_cast<int64_t>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return integer(static_cast<int64_t>(v)); }
  bool number_float(number_float_t v, const string_t&) override {
    // Ids are integers; a float id would be a malformed file, caught as a missing id.
    (void)v;
    return true;
  }
  bool string(string_t& v) override {
    if (depth_ == 3 && section_ != Section::other) {
      if (key_ == "file_name" && section_ == Section::images) file_name_ = v;
      if (key_ == "name" && section_ == Section::categories) name_ = v;
    }
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    ++depth_;
    if (depth_ == 3) {
      id_ = image_id_ = category_id_ = -1;
      file_name_.clear();
      name_.clear();
    }
    return true;
  }
  bool end_object() override {
    if (depth_ == 3) {
      if (section_ == Section::images) t_.images.emplace_back(id_, file_name_);
      if (section_ == Section::annotations) t_.annotations.emplace_back(image_id_, category_id_);
      if (section_ == Section::categories) t_.categories.emplace_back(id_, name_);
    }
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    if (depth_ == 2) {
      section_ = key_ == "images" ? Section::images
                 : key_ == "annotations" ? Section::annotations
                 : key_ == "categories" ? Section::categories
                                        : Section::other;
    }
    return true;
  }
  bool end_array() override {
    if (depth_ == 2) section_ = Section::other;
    --depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ <= 3) key_ = k;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = fmt::format("byte {}: {}", position, e.what());
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  enum class Section { other, images, annotations, categories };
  bool integer(int64_t v) {
    if (depth_ == 3 && section_ != Section::other) {
      if (key_ == "id") id_ = v;
      if (key_ == "image_id") image_id_ = v;
      if (key_ == "category_id") category_id_ = v;
    }
    return true;
  }
  CocoTables& t_;
  int depth_ = 0;
  Section section_ = Section::other;
  std::string key_, file_name_, name_, error_;
  int64_t id_ = -1, image_id_ = -1, category_id_ = -1;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

Dataset read_coco(const std::filesystem::path& instances_json, const std::filesystem::path& image_dir,
                  Problems* problems, bool allow_outside_paths) {
  if (!std::filesystem::is_regular_file(instances_json))
    throw DataError(fmt::format("{} not found (expected a COCO instances json)", instances_json.string()));
  if (!std::filesystem::is_directory(image_dir))
    throw DataError(fmt::format("{} not found (expected the folder of the images in {})", image_dir.string(),
                                instances_json.filename().string()));
  CocoTables t;
  {
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(instances_json.c_str(), "rb"));
    if (!f) throw DataError(fmt::format("cannot open {}", instances_json.string()));
    CocoSax sax(t);
    const bool ok = nlohmann::json::sax_parse(f.get(), &sax);
    if (!ok) throw DataError(fmt::format("{}: malformed json ({})", instances_json.string(), sax.error()));
  }
  if (t.categories.empty() || t.images.empty())
    throw DataError(fmt::format("{}: expected non-empty 'images' and 'categories' arrays", instances_json.string()));

  std::sort(t.categories.begin(), t.categories.end());
  std::unordered_map<int64_t, int64_t> category_index;
  Dataset out;
  for (const auto& [id, name] : t.categories) {
    if (id < 0 || !category_index.emplace(id, static_cast<int64_t>(out.class_names.size())).second)
      throw DataError(fmt::format("{}: category id {} missing or repeated", instances_json.string(), id));
    out.class_names.push_back(name);
  }
  const int64_t C = static_cast<int64_t>(out.class_names.size());

  std::sort(t.images.begin(), t.images.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  std::unordered_map<int64_t, int64_t> image_index;
  image_index.reserve(t.images.size());
  for (size_t i = 0; i < t.images.size(); ++i) {
    const auto& [id, file] = t.images[i];
    if (file.empty())
      throw DataError(fmt::format("{}: the image entry with id {} has no file_name", instances_json.string(), id));
    if (id < 0 || !image_index.emplace(id, static_cast<int64_t>(i)).second)
      throw DataError(fmt::format("{}: image entry '{}' has a missing or repeated id", instances_json.string(), file));
  }
  std::vector<uint8_t> hot(t.images.size() * static_cast<size_t>(C), 0);
  std::vector<uint8_t> any(t.images.size(), 0);
  for (const auto& [image_id, category_id] : t.annotations) {
    const auto img = image_index.find(image_id);
    const auto cat = category_index.find(category_id);
    if (img == image_index.end() || cat == category_index.end()) {
      const auto message = fmt::format("{}: annotation of image {} category {} refers to no listed image/category",
                                       instances_json.string(), image_id, category_id);
      if (!problems) throw DataError(message);
      problems->push_back(message);
      continue;
    }
    hot[static_cast<size_t>(img->second * C + cat->second)] = 1;
    any[static_cast<size_t>(img->second)] = 1;
  }
  std::vector<std::filesystem::path> files;
  std::vector<float> labels;
  for (size_t i = 0; i < t.images.size(); ++i) {
    if (!any[i]) continue;  // no annotation: dropped, as in the paper's counts
    const auto file = detail::listed_path(image_dir, t.images[i].second);
    if (!allow_outside_paths && !detail::lies_inside(file, image_dir)) {
      const auto message = fmt::format("{}: {}", instances_json.string(),
                                       detail::outside_path_message(t.images[i].second, image_dir));
      if (!problems) throw DataError(message);
      problems->push_back(message);
      continue;
    }
    files.push_back(file);
    labels.insert(labels.end(), hot.begin() + static_cast<std::ptrdiff_t>(i * C),
                  hot.begin() + static_cast<std::ptrdiff_t>((i + 1) * C));
  }
  const int64_t n = static_cast<int64_t>(files.size());
  out.name = fmt::format("coco/{}", image_dir.filename().string());
  out.images = file_source(std::move(files));
  out.labels = label_matrix(labels, n, C);
  return out;
}

}  // namespace edge::data
