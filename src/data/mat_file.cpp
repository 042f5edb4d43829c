#include "data/mat_file.h"

#include <algorithm>

#include <fmt/format.h>

#include "data/mat_structure.h"
#include "edge/common/error.h"
#include "edge/data/readers.h"

#if EDGE_HAVE_MATIO
#include <dlfcn.h>
#include <matio.h>

namespace edge::data {
bool mat_files_supported() { return true; }
}  // namespace edge::data

namespace edge::data::detail {

namespace {

// HDF5 prints a stack of diagnostics to stderr for every failed call unless told not to; a
// damaged v7.3 file would bury the reader's one-line error under them. matio links HDF5 when it
// reads v7.3, so the switch is looked up in the process rather than linking HDF5 here.
// H5Eset_auto2(H5E_DEFAULT = 0, no handler, no data), as HDF5's own H5Eset_auto2 docs describe;
// once per thread, since a thread-safe HDF5 (Debian's) keeps one error stack per thread.
void silence_hdf5_diagnostics() {
  thread_local const bool done = [] {
    using SetAuto = int (*)(int64_t, void*, void*);
    if (auto* set_auto = reinterpret_cast<SetAuto>(dlsym(RTLD_DEFAULT, "H5Eset_auto2"))) set_auto(0, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

}  // namespace

MatFile::MatFile(const std::filesystem::path& path) : path_(path), mat_(nullptr) {
  if (!std::filesystem::is_regular_file(path)) throw DataError(fmt::format("{} not found", path.string()));
  check_mat_structure(path);  // before matio allocates what the file's tags declare
  silence_hdf5_diagnostics();
  mat_ = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
  if (!mat_) throw DataError(fmt::format("{}: not a readable MATLAB .mat file (v5 or v7.3)", path.string()));
}

MatFile::~MatFile() {
  if (mat_) Mat_Close(static_cast<mat_t*>(mat_));
}

namespace {

template <typename T>
void append_values(const matvar_t* var, size_t n, std::vector<double>& out) {
  const T* p = static_cast<const T*>(var->data);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<double>(p[i]));
}

}  // namespace

std::optional<MatArray> MatFile::read(const std::string& name) const {
  matvar_t* var = Mat_VarRead(static_cast<mat_t*>(mat_), name.c_str());
  if (!var) return std::nullopt;
  std::unique_ptr<matvar_t, void (*)(matvar_t*)> guard(var, Mat_VarFree);
  MatArray out;
  size_t n = 1;
  bool overflow = false;
  for (int i = 0; i < var->rank; ++i) {
    out.dims.push_back(static_cast<int64_t>(var->dims[i]));
    overflow |= __builtin_mul_overflow(n, var->dims[i], &n);
  }
  if (var->isComplex || var->class_type == MAT_C_CELL || var->class_type == MAT_C_STRUCT ||
      var->class_type == MAT_C_SPARSE || (n > 0 && !var->data))
    throw DataError(fmt::format("{}: variable '{}' is not a plain numeric or char array", path_.string(), name));
  // A damaged file can declare more elements than its data holds; the copies below read
  // n elements, so they must be there (matio does not check this for every class).
  // Numeric arrays are read as their class's type (matio converts the stored type to it).
  // A char matrix's units are its stored type's (UTF-8, UTF-16 or UTF-32; an unknown type is read as bytes).
  const size_t element_size = var->class_type == MAT_C_CHAR ? std::max<size_t>(1, Mat_SizeOf(var->data_type))
                                                            : Mat_SizeOfClass(var->class_type);
  size_t needed = 0;
  if (overflow || (n > 0 && (element_size == 0 || __builtin_mul_overflow(n, element_size, &needed) || needed > var->nbytes)))
    throw DataError(fmt::format("{}: variable '{}' declares {} elements of {} bytes but holds {} bytes (truncated or corrupt file)",
                                path_.string(), name, n, element_size, var->nbytes));
  if (var->class_type == MAT_C_CHAR) {
    // Char matrices are [rows, cols] column-major; v5 stores UTF-16 code units, some
    // writers UTF-8 / uint8 bytes.
    // An empty one (R x 0 or 0 x C) holds no rows: nothing in the file backs R or C (found by
    // the mat fuzzer: R near 10^9 asked for 30 GB of empty strings, C near 10^9 built one 3 GB row).
    out.is_char = true;
    const int64_t rows = out.dims.empty() || n == 0 ? 0 : out.dims[0];
    const int64_t cols = out.dims.size() < 2 || n == 0 ? 0 : out.dims[1];
    out.rows.assign(static_cast<size_t>(rows), std::u32string(static_cast<size_t>(cols), U' '));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const size_t i = static_cast<size_t>(r + rows * c);
        char32_t ch;
        switch (var->data_type) {
          case MAT_T_UINT16:
          case MAT_T_UTF16: ch = static_cast<const uint16_t*>(var->data)[i]; break;
          case MAT_T_UINT32:
          case MAT_T_UTF32: ch = static_cast<const uint32_t*>(var->data)[i]; break;
          default: ch = static_cast<const uint8_t*>(var->data)[i]; break;
        }
        out.rows[static_cast<size_t>(r)][static_cast<size_t>(c)] = ch;
      }
    return out;
  }
  switch (var->class_type) {
    case MAT_C_UINT8:
      out.is_uint8 = true;
      out.bytes.assign(static_cast<const uint8_t*>(var->data), static_cast<const uint8_t*>(var->data) + n);
      break;
    case MAT_C_DOUBLE: append_values<double>(var, n, out.values); break;
    case MAT_C_SINGLE: append_values<float>(var, n, out.values); break;
    case MAT_C_INT8: append_values<int8_t>(var, n, out.values); break;
    case MAT_C_INT16: append_values<int16_t>(var, n, out.values); break;
    case MAT_C_UINT16: append_values<uint16_t>(var, n, out.values); break;
    case MAT_C_INT32: append_values<int32_t>(var, n, out.values); break;
    case MAT_C_UINT32: append_values<uint32_t>(var, n, out.values); break;
    case MAT_C_INT64: append_values<int64_t>(var, n, out.values); break;
    case MAT_C_UINT64: append_values<uint64_t>(var, n, out.values); break;
    default:
      throw DataError(fmt::format("{}: variable '{}' has an unsupported MATLAB class", path_.string(), name));
  }
  return out;
}

}  // namespace edge::data::detail

#else  // built without matio

namespace edge::data {
bool mat_files_supported() { return false; }
}  // namespace edge::data

namespace edge::data::detail {

MatFile::MatFile(const std::filesystem::path& path) : path_(path), mat_(nullptr) {
  throw DataError(fmt::format("{}: this build has no .mat support (install libmatio-dev and rebuild)", path.string()));
}
MatFile::~MatFile() = default;
std::optional<MatArray> MatFile::read(const std::string&) const { return std::nullopt; }

}  // namespace edge::data::detail

#endif
