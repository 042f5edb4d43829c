#include "data/mat_structure.h"

#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "edge/common/error.h"

// The MAT-file v5 layout (MathWorks, "MAT-File Format", R2024a): a 128-byte header, then
// data elements, each an 8-byte tag (type, byte count) and its bytes padded to 8; a tag whose
// upper 16 bits are set is a "small element" holding up to 4 bytes itself. A variable is a
// miMATRIX element (array flags, dimensions, name, then its class's sub-elements) or a
// miCOMPRESSED element, a zlib stream holding one miMATRIX element. v4 files have no header:
// each variable is five int32 (type, rows, columns, imaginary flag, name length), then the name
// and the data.

namespace edge::data::detail {
namespace {

constexpr uint32_t kMiInt32 = 5, kMiUint32 = 6, kMiMatrix = 14, kMiCompressed = 15;
constexpr int kMaxNesting = 32;
// deflate cannot expand a stream by more than 1032:1 (zlib's technical details); the slack
// covers the zlib header and a tiny stream.
constexpr uint64_t kMaxInflateRatio = 1032, kInflateSlack = 1024;
constexpr uint64_t kMaxDimsBytes = 4096;  // 1024 dimensions: far beyond any real array
constexpr uint64_t kMaxShortfall = 4096;

// A malformed element; check_mat_structure adds the file and the variable to the message.
struct Malformed {
  std::string what;
};

[[noreturn]] void malformed(std::string what) { throw Malformed{std::move(what)}; }

uint32_t bswap(uint32_t v) { return __builtin_bswap32(v); }

// Forward-only bytes of one variable: the file itself, or a compressed variable's stream.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual void read(void* out, size_t n) = 0;
  virtual void skip(uint64_t n) = 0;
};

class FileSource final : public ByteSource {
 public:
  explicit FileSource(std::ifstream& in) : in_(in) {}
  void read(void* out, size_t n) override {
    if (!in_.read(static_cast<char*>(out), static_cast<std::streamsize>(n))) malformed("the file ends inside it");
  }
  void skip(uint64_t n) override { in_.seekg(static_cast<std::streamoff>(n), std::ios::cur); }

 private:
  std::ifstream& in_;
};

class InflateSource final : public ByteSource {
 public:
  InflateSource(std::ifstream& in, uint64_t compressed_bytes) : in_(in), left_(compressed_bytes) {
    std::memset(&z_, 0, sizeof z_);
    if (inflateInit(&z_) != Z_OK) malformed("zlib could not start inflating it");
  }
  ~InflateSource() override { inflateEnd(&z_); }
  InflateSource(const InflateSource&) = delete;
  InflateSource& operator=(const InflateSource&) = delete;

  void read(void* out, size_t n) override {
    z_.next_out = static_cast<Bytef*>(out);
    z_.avail_out = static_cast<uInt>(n);
    while (z_.avail_out > 0) {
      if (z_.avail_in == 0) refill();
      const int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END && z_.avail_out > 0) malformed("its compressed stream ends inside it");
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) corrupt();
      ended_ = rc == Z_STREAM_END;
    }
  }
  // After the variable: the stream must end there, its checksum intact (as scipy's loadmat
  // demands; matio stops inflating once it has the variable and would not notice).
  void finish() {
    unsigned char extra[64];
    uint64_t extra_bytes = 0;
    while (!ended_) {
      z_.next_out = extra;
      z_.avail_out = sizeof extra;
      if (z_.avail_in == 0) refill();
      const int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) corrupt();
      extra_bytes += sizeof extra - z_.avail_out;
      ended_ = rc == Z_STREAM_END;
    }
    if (extra_bytes > 0) malformed(fmt::format("its compressed stream holds {} bytes after the variable", extra_bytes));
  }
  void skip(uint64_t n) override {
    std::array<unsigned char, 1 << 16> sink;
    while (n > 0) {
      const size_t step = static_cast<size_t>(std::min<uint64_t>(n, sink.size()));
      read(sink.data(), step);
      n -= step;
    }
  }

 private:
  [[noreturn]] void corrupt() const {
    malformed(fmt::format("its compressed stream is corrupt (zlib: {})", z_.msg ? z_.msg : "no message"));
  }
  void refill() {
    if (left_ == 0) malformed("its compressed stream ends inside it");
    const size_t step = static_cast<size_t>(std::min<uint64_t>(left_, input_.size()));
    if (!in_.read(reinterpret_cast<char*>(input_.data()), static_cast<std::streamsize>(step)))
      malformed("the file ends inside its compressed stream");
    left_ -= step;
    z_.next_in = input_.data();
    z_.avail_in = static_cast<uInt>(step);
  }

  std::ifstream& in_;
  uint64_t left_;
  z_stream z_;
  bool ended_ = false;
  std::array<unsigned char, 1 << 16> input_{};
};

// One data element: its type, its byte count, and the bytes kept (small elements: all of them).
struct Element {
  uint32_t type = 0;
  uint64_t size = 0;
  std::vector<unsigned char> data;
};

// Walks one variable's elements, each within the bytes its container declared.
class MatrixWalk {
 public:
  MatrixWalk(ByteSource& src, bool swap) : src_(src), swap_(swap) {}

  // A miMATRIX element's contents: `size` bytes, nested `depth` deep.
  void matrix(uint64_t size, int depth) {
    // An empty cell or struct field is a bare tag. A variable is not: matio reads a 0-byte
    // top-level matrix's flags, dimensions and name from the bytes after it (a fuzz finding).
    if (size == 0 && depth > 1) return;
    if (depth > kMaxNesting) malformed(fmt::format("its cells or fields nest more than {} deep", kMaxNesting));
    uint64_t left = size;
    const Element flags = element(left, 8, "array flags");
    if (flags.data.size() < 8) malformed("its array flags are shorter than 8 bytes");
    const uint32_t flag_word = word(flags.data, 0), nzmax = word(flags.data, 4);
    const uint32_t mat_class = flag_word & 0xff;
    const bool complex = flag_word & 0x0800;
    if (mat_class == 17) {  // opaque (MATLAB objects): a name and class-specific elements, no dimensions
      skip(left, left);
      return;
    }
    const uint64_t n = element_count(element(left, kMaxDimsBytes, "dimensions"));
    (void)element(left, 0, "name");
    if (mat_class == 1 || mat_class == 16) {  // cell; function handle (matio reads it as a cell)
      children(n, left, depth);
    } else if (mat_class == 2 || mat_class == 3) {  // struct, object (its class name first)
      if (mat_class == 3) (void)element(left, 0, "class name");
      const Element name_length = element(left, 4, "field name length");
      const uint64_t fields = field_count(name_length, element(left, 0, "field names").size);
      uint64_t values = 0;
      if (__builtin_mul_overflow(n, fields, &values)) malformed("its struct declares more values than can exist");
      children(values, left, depth);
    } else if (mat_class == 5) {  // sparse: ir, jc, values; nzmax entries at most
      if (nzmax > left) malformed(fmt::format("its sparse array declares {} non-zeros in {} bytes", nzmax, left));
    } else if (mat_class == 4 || (mat_class >= 6 && mat_class <= 15)) {  // char, numeric
      for (int part = 0; part < (complex ? 2 : 1); ++part) values(n, left);
    }
    skip(left, left);  // what remains: sparse parts, opaque contents, padding
  }

 private:
  uint32_t word(const std::vector<unsigned char>& bytes, size_t at) const {
    uint32_t v;
    std::memcpy(&v, bytes.data() + at, 4);
    return swap_ ? bswap(v) : v;
  }

  // The next element within `left` bytes: keeps up to `keep` of its bytes, skips the rest and
  // the padding to 8 bytes.
  Element element(uint64_t& left, uint64_t keep, const char* what) {
    if (left < 8) malformed(fmt::format("its {} element is missing ({} bytes left)", what, left));
    unsigned char tag[8];
    src_.read(tag, 8);
    left -= 8;
    std::vector<unsigned char> tag_bytes(tag, tag + 8);
    const uint32_t first = word(tag_bytes, 0);
    Element e;
    if (first >> 16) {  // small element: its bytes are the tag's second word
      e.type = first & 0xffff;
      e.size = first >> 16;
      if (e.size > 4) malformed(fmt::format("its {} element is a small element of {} bytes (at most 4)", what, e.size));
      e.data.assign(tag + 4, tag + 4 + e.size);
      return e;
    }
    e.type = first;
    e.size = word(tag_bytes, 4);
    if (e.size > left) malformed(fmt::format("its {} element declares {} bytes but {} are left", what, e.size, left));
    const uint64_t kept = std::min(e.size, keep);
    e.data.resize(static_cast<size_t>(kept));
    if (kept > 0) src_.read(e.data.data(), e.data.size());
    left -= kept;
    const uint64_t padded = (e.size + 7) & ~uint64_t{7};
    skip(padded - kept, left);
    return e;
  }

  // Skips `n` bytes, or what is left of the container when a final element is not padded.
  void skip(uint64_t n, uint64_t& left) {
    n = std::min(n, left);
    src_.skip(n);
    left -= n;
  }

  uint64_t element_count(const Element& dims) const {
    if (dims.size > kMaxDimsBytes)
      malformed(fmt::format("its dimensions element declares {} bytes (at most {})", dims.size, kMaxDimsBytes));
    // Some writers store the dimensions as uint32 (scipy's miuint32_for_miint32.mat); matio reads them.
    if ((dims.type != kMiInt32 && dims.type != kMiUint32) || dims.data.size() % 4 != 0)
      malformed(fmt::format("its dimensions element has type {} and {} bytes (expected 32-bit integers)", dims.type, dims.data.size()));
    uint64_t n = 1;
    for (size_t at = 0; at < dims.data.size(); at += 4) {
      const auto d = static_cast<int32_t>(word(dims.data, at));
      if (d < 0) malformed(fmt::format("it declares a negative dimension {}", d));
      if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) malformed("its dimensions' product overflows 64 bits");
    }
    return n;
  }

  uint64_t field_count(const Element& name_length, uint64_t names_bytes) const {
    if (name_length.data.size() != 4) malformed("its field name length element does not hold one int32");
    const uint32_t length = word(name_length.data, 0);
    if (length == 0) {
      if (names_bytes > 0) malformed("its field names have length 0");
      return 0;
    }
    return names_bytes / length;
  }

  // `count` miMATRIX elements (cells or struct values), each within what is left.
  void children(uint64_t count, uint64_t& left, int depth) {
    if (count > left / 8)
      malformed(fmt::format("it declares {} cells or fields but holds {} bytes (8 per value at least)", count, left));
    for (uint64_t i = 0; i < count; ++i) {
      if (left < 8) malformed("a cell or field value is missing");
      unsigned char tag[8];
      src_.read(tag, 8);
      left -= 8;
      const std::vector<unsigned char> tag_bytes(tag, tag + 8);
      const uint32_t type = word(tag_bytes, 0), size = word(tag_bytes, 4);
      if (type != kMiMatrix) malformed(fmt::format("a cell or field value has element type {} (expected miMATRIX)", type));
      if (size > left) malformed(fmt::format("a cell or field value declares {} bytes but {} are left", size, left));
      matrix(size, depth + 1);
      left -= size;
    }
  }

  // One part of a char or numeric array: it must hold the `n` values the dimensions declare,
  // give or take kMaxShortfall bytes (matio reads a MATLAB file whose 1x1 char holds no bytes,
  // scipy's nasty_duplicate_fieldnames.mat), so that matio's n-value buffer is bounded by
  // the bytes the file holds.
  void values(uint64_t n, uint64_t& left) {
    if (n == 0 && left == 0) return;  // an empty array may end after its name
    const Element data = element(left, 0, "data");
    const uint64_t unit = std::max<uint64_t>(1, stored_size(data.type));
    uint64_t declared = 0;
    if (__builtin_mul_overflow(n, unit, &declared) || declared > data.size + kMaxShortfall)
      malformed(fmt::format("it declares {} values but its data holds {} bytes of {}-byte values", n, data.size, unit));
  }

  // Bytes per value of a stored type; 0 for a type matio converts in its own way.
  static uint64_t stored_size(uint32_t type) {
    switch (type) {
      case 1: case 2: case 16: return 1;    // int8, uint8, utf8
      case 3: case 4: case 17: return 2;    // int16, uint16, utf16
      case 5: case 6: case 7: case 18: return 4;  // int32, uint32, single, utf32
      case 9: case 12: case 13: return 8;   // double, int64, uint64
      default: return 0;
    }
  }

  ByteSource& src_;
  bool swap_;
};

uint64_t file_size_of(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw DataError(fmt::format("{}: cannot read its size ({})", path.string(), ec.message()));
  return size;
}

// v5: each top-level element within the file; matrices walked, compressed ones inflated.
void check_v5(const std::filesystem::path& path, std::ifstream& in, uint64_t file_size, bool swap) {
  uint64_t offset = 128;
  for (int index = 1; file_size - offset >= 8; ++index) {
    try {
      in.seekg(static_cast<std::streamoff>(offset));
      uint32_t tag[2];
      if (!in.read(reinterpret_cast<char*>(tag), 8)) malformed("the file ends inside its tag");
      const uint32_t type = swap ? bswap(tag[0]) : tag[0];
      const uint64_t size = (type >> 16) ? 0 : (swap ? bswap(tag[1]) : tag[1]);
      const uint64_t after = file_size - offset - 8;
      if (size > after) malformed(fmt::format("it declares {} bytes but the file holds {} after its tag", size, after));
      if (type == kMiMatrix) {
        FileSource src(in);
        MatrixWalk(src, swap).matrix(size, 1);
      } else if (type == kMiCompressed) {
        InflateSource src(in, size);
        uint32_t inner[2];
        src.read(inner, 8);
        const uint32_t inner_type = swap ? bswap(inner[0]) : inner[0];
        const uint64_t inner_size = swap ? bswap(inner[1]) : inner[1];
        if (inner_type != kMiMatrix) malformed(fmt::format("its compressed stream holds element type {} (expected miMATRIX)", inner_type));
        if (inner_size > kMaxInflateRatio * size + kInflateSlack)
          malformed(fmt::format("its {} compressed bytes declare {} bytes, more than deflate can expand them to", size, inner_size));
        MatrixWalk(src, swap).matrix(inner_size, 1);
        src.finish();
      }
      offset += 8 + size;
    } catch (const Malformed& m) {
      throw DataError(fmt::format("{}: variable {} (at byte {}) is corrupt: {} (truncated or corrupt file)", path.string(),
                                  index, offset, m.what));
    }
  }
}

// v4: each variable's name and data within the file. A first record that is not a v4 header
// in either byte order is left to matio, which refuses the file.
void check_v4(const std::filesystem::path& path, std::ifstream& in, uint64_t file_size) {
  uint64_t offset = 0;
  for (int index = 1; file_size - offset >= 20; ++index) {
    in.seekg(static_cast<std::streamoff>(offset));
    uint32_t h[5];
    if (!in.read(reinterpret_cast<char*>(h), sizeof h)) return;
    // MOPT: machine 0-4, O 0, precision 0-5, type 0-2 (full, text, sparse).
    auto valid = [](uint32_t t) { return t <= 4052 && (t / 100) % 10 == 0 && (t / 10) % 10 <= 5 && t % 10 <= 2; };
    if (!valid(h[0])) {
      for (auto& v : h) v = bswap(v);
      if (!valid(h[0])) return;
    }
    static constexpr uint64_t kBytes[] = {8, 4, 4, 2, 2, 1};  // double, single, int32, int16, uint16, uint8
    const uint64_t unit = kBytes[(h[0] / 10) % 10];
    const auto rows = static_cast<int32_t>(h[1]), cols = static_cast<int32_t>(h[2]), name = static_cast<int32_t>(h[4]);
    uint64_t need = 0;
    const bool overflow = rows < 0 || cols < 0 || name < 0 ||
                          __builtin_mul_overflow(static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), &need) ||
                          __builtin_mul_overflow(need, unit * (h[3] ? 2 : 1), &need) ||
                          __builtin_add_overflow(need, static_cast<uint64_t>(name), &need);
    const uint64_t after = file_size - offset - 20;
    if (overflow || need > after)
      throw DataError(fmt::format("{}: MATLAB v4 variable {} (at byte {}) declares a {}x{} matrix and a {}-byte name, "
                                  "more than the {} bytes after its header (truncated or corrupt file)",
                                  path.string(), index, offset, rows, cols, name, after));
    offset += 20 + need;
  }
}

// A v7.3 file is HDF5 behind MATLAB's 512-byte user block. HDF5 reads a truncated file's
// superblock and then fails deep inside with a multi-line diagnostic, so the end-of-file
// address the superblock declares is checked here first (HDF5 File Format Specification 3.0,
// section II.A: superblock versions 0-1 and 2-3).
void check_v73(const std::filesystem::path& path, std::ifstream& in, uint64_t file_size) {
  constexpr uint64_t kUserBlock = 512;
  static constexpr unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  std::array<unsigned char, 96> sb{};
  in.seekg(static_cast<std::streamoff>(kUserBlock));
  in.read(reinterpret_cast<char*>(sb.data()), sb.size());
  const auto got = static_cast<uint64_t>(in.gcount());
  if (got < 12 || std::memcmp(sb.data(), kSignature, sizeof kSignature) != 0)
    throw DataError(fmt::format("{}: MATLAB v7.3 header but no HDF5 superblock at byte {} (truncated or corrupt file)",
                                path.string(), kUserBlock));
  const unsigned version = sb[8];
  if (version > 3) return;  // a newer format: HDF5's own checks
  const unsigned offset_size = version <= 1 ? sb[13] : sb[9];
  // Where the base address lies: after 24 bytes (v0), 28 (v1: indexed storage K + reserved), 12 (v2-3).
  const uint64_t base_at = version == 0 ? 24 : version == 1 ? 28 : 12;
  // v0-1: base, free-space info, end of file; v2-3: base, superblock extension, end of file.
  const uint64_t eof_at = base_at + 2 * offset_size;
  if ((offset_size != 2 && offset_size != 4 && offset_size != 8) || got < eof_at + offset_size)
    throw DataError(fmt::format("{}: HDF5 superblock (MATLAB v7.3) shorter than its fields (truncated or corrupt file)",
                                path.string()));
  auto address = [&](uint64_t at) {
    uint64_t v = 0;
    for (unsigned i = 0; i < offset_size; ++i) v |= static_cast<uint64_t>(sb[at + i]) << (8 * i);  // little-endian
    return v;
  };
  // HDF5 itself refuses a file shorter than this address (H5F__super_read compares it with the
  // file's size, the user block included), so the same comparison is made here.
  const uint64_t eof = address(eof_at);
  const bool undefined = eof == (offset_size == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * offset_size)) - 1);
  if (!undefined && eof > file_size)
    throw DataError(fmt::format("{}: MATLAB v7.3 (HDF5) file declares {} bytes but holds {} (truncated or corrupt file)",
                                path.string(), eof, file_size));
}

}  // namespace

void check_mat_structure(const std::filesystem::path& path) {
  const uint64_t file_size = file_size_of(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open it for reading", path.string()));
  std::array<char, 128> header{};
  const bool has_header = file_size >= 128 && in.read(header.data(), header.size());
  const bool little = has_header && header[126] == 'I' && header[127] == 'M';
  const bool big = has_header && header[126] == 'M' && header[127] == 'I';
  if (little || big) {
    const bool swap = big;  // this project builds for little-endian hosts only
    const auto version = static_cast<uint16_t>(static_cast<unsigned char>(header[swap ? 125 : 124]) |
                                               static_cast<unsigned char>(header[swap ? 124 : 125]) << 8);
    if (version == 0x0200) return check_v73(path, in, file_size);
    check_v5(path, in, file_size, swap);
  } else {
    in.clear();
    check_v4(path, in, file_size);
  }
}

}  // namespace edge::data::detail
