// Content fingerprints for cache keys: 64-bit FNV-1a, printed as 16 hex digits.
// Not cryptographic: it detects changed inputs, it does not resist forgery.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace edge {

inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;

// Continues the hash `h` over `size` bytes.
uint64_t fnv1a(const void* data, std::size_t size, uint64_t h = kFnvOffset);
uint64_t fnv1a_text(const std::string& text, uint64_t h = kFnvOffset);
// Hash of a file's bytes; throws DataError naming the file if it cannot be read.
uint64_t file_fnv1a(const std::filesystem::path& file);
std::string hex64(uint64_t value);

}  // namespace edge
