#include "edge/common/content_hash.h"

#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "edge/common/error.h"

namespace edge {

uint64_t fnv1a(const void* data, std::size_t size, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t fnv1a_text(const std::string& text, uint64_t h) { return fnv1a(text.data(), text.size(), h); }

uint64_t file_fnv1a(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DataError(fmt::format("cannot read {}", file.string()));
  std::vector<char> buf(1 << 20);
  uint64_t h = kFnvOffset;
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    h = fnv1a(buf.data(), std::size_t(in.gcount()), h);
  }
  return h;
}

std::string hex64(uint64_t value) { return fmt::format("{:016x}", value); }

}  // namespace edge
