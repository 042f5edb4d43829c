// Writing files so that a crash or error never leaves a half-written file behind:
// everything is written to a temporary sibling and renamed into place.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace edge {

// Calls `write(tmp_path)` to produce the content at a temporary path in the same
// directory, then renames it onto `target`. On any exception the temporary file is
// removed and `target` is untouched; a filesystem or LibTorch error becomes one DataError
// line naming `target` and the reason (e.g. "No space left on device"), others propagate.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path&)>& write);

// Writes `size` bytes to `path` (created or truncated) and fsyncs it; throws DataError
// naming the file and the system's reason on any failure (a full disk included).
void write_file_bytes(const std::filesystem::path& path, const char* data, size_t size);

// Writes `bytes` to `target` atomically (write_file_bytes to the temporary sibling).
void write_bytes_atomically(const std::filesystem::path& target, const std::string& bytes);

// Writes `content` to `target` atomically.
void write_text_atomically(const std::filesystem::path& target, const std::string& content);

// Reads a whole text file; throws DataError naming the file if it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace edge
