// Generic CSV / TSV manifests: image path + label names or one 0/1 column per class.
#include <unordered_map>

#include <fmt/format.h>

#include "data/text_util.h"
#include "edge/common/error.h"
#include "edge/data/readers.h"

namespace edge::data {

Dataset read_manifest(const std::filesystem::path& manifest, Problems* problems) {
  const auto ext = detail::lower(manifest.extension().string());
  if (ext != ".csv" && ext != ".tsv")
    throw DataError(fmt::format("{}: a manifest must end in .csv or .tsv", manifest.string()));
  const char sep = ext == ".csv" ? ',' : '\t';
  const auto lines = detail::read_lines(manifest, "a manifest with a header row");
  if (lines.empty()) throw DataError(fmt::format("{}: empty (expected a header row)", manifest.string()));
  std::vector<std::string> header = detail::split_on(lines[0], sep);
  for (auto& h : header) h = detail::trim(h);

  int64_t image_col = -1, labels_col = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "image" || header[i] == "path") image_col = static_cast<int64_t>(i);
    if (header[i] == "labels") labels_col = static_cast<int64_t>(i);
  }
  if (image_col < 0)
    throw DataError(fmt::format("{}:1: expected a column named 'image' or 'path' in the header", manifest.string()));

  std::vector<std::string> class_names;
  std::vector<size_t> class_cols;  // 0/1 form: the column of each class
  const auto base = manifest.parent_path();
  if (labels_col >= 0) {
    if (header.size() != 2)
      throw DataError(fmt::format("{}:1: with a 'labels' column the header must be exactly the image and labels "
                                  "columns, got {} columns",
                                  manifest.string(), header.size()));
    for (const auto& line : detail::read_lines(base / "classes.txt", "the class names, one per line"))
      if (!detail::trim(line).empty()) class_names.push_back(detail::trim(line));
  } else {
    for (size_t i = 0; i < header.size(); ++i)
      if (static_cast<int64_t>(i) != image_col) {
        class_names.push_back(header[i]);
        class_cols.push_back(i);
      }
  }
  if (class_names.empty()) throw DataError(fmt::format("{}: no classes", manifest.string()));
  std::unordered_map<std::string, size_t> class_index;
  for (size_t c = 0; c < class_names.size(); ++c)
    if (!class_index.emplace(class_names[c], c).second)
      throw DataError(fmt::format("{}: class '{}' named twice", manifest.string(), class_names[c]));

  const size_t C = class_names.size();
  std::vector<std::filesystem::path> files;
  std::vector<float> labels;
  for (size_t li = 1; li < lines.size(); ++li) {
    if (detail::trim(lines[li]).empty()) continue;
    const auto where = fmt::format("{}:{}", manifest.string(), li + 1);
    auto bad = [&](const std::string& what) {
      const auto message = fmt::format("{}: {}", where, what);
      if (!problems) throw DataError(message);
      problems->push_back(message);
    };
    const auto fields = detail::split_on(lines[li], sep);
    if (fields.size() != header.size()) {
      bad(fmt::format("{} fields, expected {} as in the header", fields.size(), header.size()));
      continue;
    }
    const auto image = detail::trim(fields[static_cast<size_t>(image_col)]);
    if (image.empty()) {
      bad("empty image path");
      continue;
    }
    std::vector<float> row(C, 0.0f);
    bool ok = true;
    if (labels_col >= 0) {
      const auto field = detail::trim(fields[static_cast<size_t>(labels_col)]);
      if (!field.empty())
        for (const auto& raw : detail::split_on(field, '|')) {
          const auto it = class_index.find(detail::trim(raw));
          if (it == class_index.end()) {
            bad(fmt::format("label '{}' is not in {}", detail::trim(raw), (base / "classes.txt").string()));
            ok = false;
            break;
          }
          row[it->second] = 1.0f;
        }
    } else {
      for (size_t c = 0; c < C && ok; ++c) {
        const auto v = detail::trim(fields[class_cols[c]]);
        if (v != "0" && v != "1") {
          bad(fmt::format("column '{}' is '{}', expected 0 or 1", class_names[c], v));
          ok = false;
        }
        row[c] = v == "1" ? 1.0f : 0.0f;
      }
    }
    if (!ok) continue;
    files.push_back(base / image);
    labels.insert(labels.end(), row.begin(), row.end());
  }
  Dataset out;
  out.name = manifest.filename().string();
  out.class_names = std::move(class_names);
  const int64_t n = static_cast<int64_t>(files.size());
  out.images = file_source(std::move(files));
  out.labels = label_matrix(labels, n, static_cast<int64_t>(C));
  return out;
}

}  // namespace edge::data
