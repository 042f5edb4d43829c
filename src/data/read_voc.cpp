// PASCAL VOC 2012: the devkit folder (xml annotations) and the reference's voc12-*.mat lists.
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/mat_file.h"
#include "data/listed_path.h"
#include "data/text_util.h"
#include "edge/common/error.h"
#include "edge/data/readers.h"

namespace edge::data {

const std::vector<std::string>& voc_class_names() {
  static const std::vector<std::string> names = {
      "aeroplane", "bicycle", "bird",  "boat",      "bottle", "bus",         "car",
      "cat",       "chair",   "cow",   "diningtable", "dog",  "horse",       "motorbike",
      "person",    "pottedplant", "sheep", "sofa",  "train",  "tvmonitor"};
  return names;
}

namespace {

void report(Problems* problems, const std::string& message) {
  if (!problems) throw DataError(message);
  problems->push_back(message);
}

std::string read_file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Object class names of a VOC annotation: the first <name> of each <object> (the nested
// <part><name> of person layouts come after it).
std::vector<std::string> object_names(const std::string& xml) {
  std::vector<std::string> names;
  size_t pos = 0;
  while ((pos = xml.find("<object>", pos)) != std::string::npos) {
    const size_t end = xml.find("</object>", pos);
    const size_t open = xml.find("<name>", pos);
    if (open == std::string::npos || (end != std::string::npos && open > end)) {
      names.emplace_back();  // an object without a name: reported by the caller
    } else {
      const size_t close = xml.find("</name>", open);
      names.push_back(detail::trim(xml.substr(open + 6, close == std::string::npos ? 0 : close - open - 6)));
    }
    pos = end == std::string::npos ? xml.size() : end;
  }
  return names;
}

}  // namespace

Dataset read_voc_xml(const std::filesystem::path& voc_dir, const std::string& split, Problems* problems,
                     bool allow_outside_paths) {
  const auto list = voc_dir / "ImageSets" / "Main" / (split + ".txt");
  std::vector<std::string> ids;
  for (const auto& line : detail::read_lines(list, "VOC image ids, one per line")) {
    const auto id = detail::trim(line);
    if (!id.empty()) ids.push_back(id);
  }
  if (ids.empty()) throw DataError(fmt::format("{}: no image ids", list.string()));

  const auto ann_dir = voc_dir / "Annotations";
  // The VOC2012 test release has no annotations at all: an unlabelled split.
  const bool labelled =
      std::filesystem::is_regular_file(ann_dir / (ids.front() + ".xml")) || split != "test";
  std::unordered_map<std::string, int64_t> class_index;
  const auto& classes = voc_class_names();
  for (size_t c = 0; c < classes.size(); ++c) class_index[classes[c]] = static_cast<int64_t>(c);

  std::vector<std::filesystem::path> files;
  std::vector<float> labels;
  const int64_t C = static_cast<int64_t>(classes.size());
  for (const auto& id : ids) {
    // Annotations/<id>.xml lies inside voc_dir exactly when JPEGImages/<id>.jpg does.
    const auto jpeg = detail::listed_path(voc_dir / "JPEGImages", id + ".jpg");
    if (!allow_outside_paths && !detail::lies_inside(jpeg, voc_dir)) {
      report(problems, fmt::format("{}: {}", list.string(), detail::outside_path_message(id, voc_dir)));
      continue;
    }
    std::vector<float> row(static_cast<size_t>(C), 0.0f);
    if (labelled) {
      const auto xml_path = ann_dir / (id + ".xml");
      if (!std::filesystem::is_regular_file(xml_path)) {
        report(problems, fmt::format("{}: listed in {} but has no annotation file", xml_path.string(), list.string()));
        continue;
      }
      bool ok = true;
      for (const auto& name : object_names(read_file_text(xml_path))) {
        const auto it = class_index.find(name);
        if (it == class_index.end()) {
          report(problems, fmt::format("{}: object class '{}' is not one of the 20 VOC classes", xml_path.string(), name));
          ok = false;
          break;
        }
        row[static_cast<size_t>(it->second)] = 1.0f;
      }
      if (!ok) continue;
    }
    files.push_back(jpeg);
    labels.insert(labels.end(), row.begin(), row.end());
  }
  Dataset out;
  out.name = fmt::format("voc2012/{}", split);
  out.class_names = classes;
  const int64_t n = static_cast<int64_t>(files.size());
  out.images = file_source(std::move(files));
  if (labelled) out.labels = label_matrix(labels, n, C);
  return out;
}

Dataset read_voc_mat(const std::filesystem::path& mat_file, Problems* problems, bool allow_outside_paths) {
  const detail::MatFile mat(mat_file);
  const auto list = mat.read("Imlist");
  if (!list || !list->is_char)
    throw DataError(fmt::format("{}: expected a char matrix 'Imlist' of image paths", mat_file.string()));
  if (list->rows.empty())
    throw DataError(fmt::format("{}: 'Imlist' is {} and holds no image paths (expected one per row)", mat_file.string(),
                                fmt::join(list->dims, "x")));
  const auto labels_var = mat.read("labels");
  const int64_t n = static_cast<int64_t>(list->rows.size());
  const int64_t C = static_cast<int64_t>(voc_class_names().size());
  if (labels_var) {
    // A char 'labels' has the right dims but no numbers (a mat fuzzer finding read past them).
    const bool shape_ok = labels_var->dims.size() == 2 && labels_var->dims[0] == n && labels_var->dims[1] == C &&
                          !labels_var->is_char && labels_var->numel() == static_cast<size_t>(n * C);
    if (!shape_ok)
      throw DataError(fmt::format("{}: 'labels' is a {} {}, expected a numeric [{}, {}] (one row per Imlist entry)",
                                  mat_file.string(), labels_var->is_char ? "char" : "numeric",
                                  fmt::join(labels_var->dims, "x"), n, C));
  }
  const auto base = mat_file.parent_path();
  const auto root = (base.empty() ? std::filesystem::path(".") : base) / "..";  // the lists' "./../"
  std::vector<std::filesystem::path> files;
  std::vector<float> labels;
  for (int64_t i = 0; i < n; ++i) {
    std::string path;
    bool ascii = true;
    for (char32_t ch : list->rows[static_cast<size_t>(i)]) {
      if (ch > 0x7f) ascii = false;
      path += static_cast<char>(ch);
    }
    path = detail::trim(path);
    if (!ascii || path.empty()) {
      report(problems, fmt::format("{}: Imlist row {} is not an ASCII path", mat_file.string(), i + 1));
      continue;
    }
    std::vector<float> row(static_cast<size_t>(C), 0.0f);
    bool ok = true;
    if (labels_var) {
      for (int64_t c = 0; c < C; ++c) {
        const double v = labels_var->at(static_cast<size_t>(i + n * c));
        if (v != 0.0 && v != 1.0) ok = false;
        row[static_cast<size_t>(c)] = static_cast<float>(v);
      }
      if (!ok) {
        report(problems, fmt::format("{}: labels row {} is not 0/1", mat_file.string(), i + 1));
        continue;
      }
    }
    const auto file = detail::listed_path(base, path);
    if (!allow_outside_paths && !detail::lies_inside(file, root)) {
      report(problems, fmt::format("{}: Imlist row {}: {}", mat_file.string(), i + 1,
                                   detail::outside_path_message(path, root.lexically_normal())));
      continue;
    }
    files.push_back(file);
    labels.insert(labels.end(), row.begin(), row.end());
  }
  Dataset out;
  out.name = mat_file.stem().string();
  out.class_names = voc_class_names();
  const int64_t kept = static_cast<int64_t>(files.size());
  out.images = file_source(std::move(files));
  if (labels_var) out.labels = label_matrix(labels, kept, C);
  return out;
}

}  // namespace edge::data
