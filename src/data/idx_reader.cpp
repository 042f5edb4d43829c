#include "edge/data/idx_reader.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "edge/common/error.h"

namespace edge::data {

namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};

// Reads exactly n bytes; gzread also reads uncompressed files transparently.
bool read_exact(gzFile f, void* dst, size_t n) {
  auto* p = static_cast<unsigned char*>(dst);
  while (n > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
    const int got = gzread(f, p, chunk);
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

torch::Tensor read_idx_ubyte(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw DataError(fmt::format("IDX file {} not found", path.string()));
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throw DataError(fmt::format("cannot open IDX file {}", path.string()));
  std::array<unsigned char, 4> magic{};
  if (!read_exact(f.get(), magic.data(), 4) || magic[0] != 0 || magic[1] != 0)
    throw DataError(fmt::format("{} is not an IDX file (bad magic number)", path.string()));
  if (magic[2] != 0x08)
    throw DataError(fmt::format("{}: expected unsigned-byte IDX data (type 0x08), got type 0x{:02x}",
                                path.string(), magic[2]));
  const int ndim = magic[3];
  if (ndim < 1 || ndim > 4)
    throw DataError(fmt::format("{}: expected 1 to 4 IDX dimensions, got {}", path.string(), ndim));
  std::vector<int64_t> dims(ndim);
  int64_t total = 1;
  constexpr int64_t kMaxPayload = int64_t{1} << 40;  // no real IDX file is near; keeps the product in range
  for (int d = 0; d < ndim; ++d) {
    std::array<unsigned char, 4> b{};
    if (!read_exact(f.get(), b.data(), 4))
      throw DataError(fmt::format("{}: truncated IDX header", path.string()));
    dims[d] = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | int64_t(b[3]);
    // A zero dimension is refused too: LibTorch would compute the strides of the others, which
    // may overflow (the IDX fuzzer's second finding, a crash inside clone()).
    if (dims[d] == 0) throw DataError(fmt::format("{}: the IDX header declares an empty dimension", path.string()));
    if (total > kMaxPayload / dims[d])
      throw DataError(fmt::format("{}: the IDX header declares more than 2^40 bytes of payload", path.string()));
    total *= dims[d];
  }
  // Read in chunks as far as the data goes, so that a header declaring more than the file holds
  // (found by the IDX fuzzer) is a truncation error, not an allocation of the declared size.
  std::vector<uint8_t> payload;
  constexpr size_t kChunk = size_t{64} << 20;
  while (static_cast<int64_t>(payload.size()) < total) {
    const size_t want = std::min<size_t>(kChunk, static_cast<size_t>(total) - payload.size());
    payload.resize(payload.size() + want);
    if (!read_exact(f.get(), payload.data() + payload.size() - want, want))
      throw DataError(fmt::format("{}: truncated IDX data (expected {} bytes of payload)", path.string(), total));
  }
  return torch::from_blob(payload.data(), dims, torch::kUInt8).clone();
}

}  // namespace edge::data
