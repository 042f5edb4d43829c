// Generic CSV / TSV manifests: image path + label names or one 0/1 column per class.
#include <functional>
#include <unordered_map>

#include <fmt/format.h>

#include "data/listed_path.h"
#include "data/text_util.h"
#include "edge/common/error.h"
#include "edge/data/readers.h"

namespace edge::data {

namespace {

// What the header row says: where the image path is, and the classes with where each is read.
struct ManifestColumns {
  size_t width = 0;                      // fields per row
  size_t image = 0;                      // the `image` / `path` column
  int64_t labels = -1;                   // the `labels` column (names separated by |), or -1: 0/1 form
  std::vector<std::string> class_names;
  std::vector<size_t> class_cols;        // 0/1 form: the column of each class
  std::unordered_map<std::string, size_t> class_index;
};

ManifestColumns read_header(const std::filesystem::path& manifest, std::string first_line, char sep) {
  // A UTF-8 byte-order mark (spreadsheet exports write one) is no part of the first column's name.
  if (first_line.rfind("\xEF\xBB\xBF", 0) == 0) first_line.erase(0, 3);
  std::vector<std::string> header = detail::split_on(first_line, sep);
  for (auto& h : header) h = detail::trim(h);
  ManifestColumns m;
  m.width = header.size();
  int64_t image_col = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "image" || header[i] == "path") image_col = static_cast<int64_t>(i);
    if (header[i] == "labels") m.labels = static_cast<int64_t>(i);
  }
  if (image_col < 0)
    throw DataError(fmt::format("{}:1: expected a column named 'image' or 'path' in the header", manifest.string()));
  m.image = static_cast<size_t>(image_col);
  if (m.labels >= 0) {
    if (header.size() != 2)
      throw DataError(fmt::format("{}:1: with a 'labels' column the header must be exactly the image and labels "
                                  "columns, got {} columns",
                                  manifest.string(), header.size()));
    for (const auto& line : detail::read_lines(manifest.parent_path() / "classes.txt", "the class names, one per line"))
      if (!detail::trim(line).empty()) m.class_names.push_back(detail::trim(line));
  } else {
    for (size_t i = 0; i < header.size(); ++i)
      if (i != m.image) {
        m.class_names.push_back(header[i]);
        m.class_cols.push_back(i);
      }
  }
  if (m.class_names.empty()) throw DataError(fmt::format("{}: no classes", manifest.string()));
  for (size_t c = 0; c < m.class_names.size(); ++c)
    if (!m.class_index.emplace(m.class_names[c], c).second)
      throw DataError(fmt::format("{}: class '{}' named twice", manifest.string(), m.class_names[c]));
  return m;
}

// The multi-hot row of one manifest line's fields; empty (after `bad` was told why) if a
// label is not a class or a 0/1 field is neither.
std::vector<float> row_labels(const ManifestColumns& m, const std::vector<std::string>& fields,
                              const std::filesystem::path& classes_file,
                              const std::function<void(const std::string&)>& bad) {
  std::vector<float> row(m.class_names.size(), 0.0f);
  if (m.labels >= 0) {
    const auto field = detail::trim(fields[static_cast<size_t>(m.labels)]);
    if (field.empty()) return row;
    for (const auto& raw : detail::split_on(field, '|')) {
      const auto it = m.class_index.find(detail::trim(raw));
      if (it == m.class_index.end()) {
        bad(fmt::format("label '{}' is not in {}", detail::trim(raw), classes_file.string()));
        return {};
      }
      row[it->second] = 1.0f;
    }
    return row;
  }
  for (size_t c = 0; c < row.size(); ++c) {
    const auto v = detail::trim(fields[m.class_cols[c]]);
    if (v != "0" && v != "1") {
      bad(fmt::format("column '{}' is '{}', expected 0 or 1", m.class_names[c], v));
      return {};
    }
    row[c] = v == "1" ? 1.0f : 0.0f;
  }
  return row;
}

}  // namespace

Dataset read_manifest(const std::filesystem::path& manifest, Problems* problems, bool allow_outside_paths) {
  const auto ext = detail::lower(manifest.extension().string());
  if (ext != ".csv" && ext != ".tsv")
    throw DataError(fmt::format("{}: a manifest must end in .csv or .tsv", manifest.string()));
  const char sep = ext == ".csv" ? ',' : '\t';
  const auto lines = detail::read_lines(manifest, "a manifest with a header row");
  if (lines.empty()) throw DataError(fmt::format("{}: empty (expected a header row)", manifest.string()));
  const ManifestColumns m = read_header(manifest, lines[0], sep);
  const auto base = manifest.parent_path();
  std::vector<std::filesystem::path> files;
  std::vector<float> labels;
  std::unordered_map<std::string, size_t> first_line_of;  // image path -> its line
  for (size_t li = 1; li < lines.size(); ++li) {
    if (detail::trim(lines[li]).empty()) continue;
    auto bad = [&](const std::string& what) {
      const auto message = fmt::format("{}:{}: {}", manifest.string(), li + 1, what);
      if (!problems) throw DataError(message);
      problems->push_back(message);
    };
    const auto fields = detail::split_on(lines[li], sep);
    if (fields.size() != m.width) {
      bad(fmt::format("{} fields, expected {} as in the header", fields.size(), m.width));
      continue;
    }
    const auto image = detail::trim(fields[m.image]);
    if (image.empty()) {
      bad("empty image path");
      continue;
    }
    if (const auto [it, fresh] = first_line_of.emplace(image, li + 1); !fresh) {
      bad(fmt::format("image {} listed again (first on line {})", image, it->second));
      continue;
    }
    const auto file = detail::listed_path(base, image);
    if (!allow_outside_paths && !detail::lies_inside(file, base)) {
      bad(detail::outside_path_message(image, base));
      continue;
    }
    const std::vector<float> row = row_labels(m, fields, base / "classes.txt", bad);
    if (row.empty()) continue;
    files.push_back(file);
    labels.insert(labels.end(), row.begin(), row.end());
  }
  Dataset out;
  out.name = manifest.filename().string();
  out.class_names = m.class_names;
  const int64_t n = static_cast<int64_t>(files.size());
  out.images = file_source(std::move(files));
  out.labels = label_matrix(labels, n, static_cast<int64_t>(m.class_names.size()));
  return out;
}

}  // namespace edge::data
