// Reading variables of MATLAB .mat files (v5 and v7.3) through matio. Private to the readers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace edge::data::detail {

// A numeric or char variable: dims as stored (column-major, MATLAB order) and its values.
struct MatArray {
  std::vector<int64_t> dims;
  std::vector<double> values;        // numeric classes, column-major
  std::vector<uint8_t> bytes;        // uint8 variables only (kept exact and compact)
  std::vector<std::u32string> rows;  // char matrices: one string per row (none when empty)
  bool is_uint8 = false;
  bool is_char = false;

  size_t numel() const { return is_uint8 ? bytes.size() : values.size(); }
  double at(size_t i) const { return is_uint8 ? bytes[i] : values[i]; }
};

class MatFile {
 public:
  // Throws DataError naming the file if it is missing or not a .mat file.
  explicit MatFile(const std::filesystem::path& path);
  ~MatFile();
  MatFile(const MatFile&) = delete;
  MatFile& operator=(const MatFile&) = delete;

  // The variable `name`, or nullopt if the file has none. Throws DataError for a variable
  // of an unsupported class (cell, struct, sparse, complex).
  std::optional<MatArray> read(const std::string& name) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  void* mat_;  // mat_t*
};

}  // namespace edge::data::detail
