// Writing files so that a crash or error never leaves a half-written file behind:
// everything is written to a temporary sibling and renamed into place.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace edge {

// Calls `write(tmp_path)` to produce the content at a temporary path in the same
// directory, then renames it onto `target`. On any exception the temporary file is
// removed and the exception propagates; `target` is untouched.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path&)>& write);

// Writes `content` to `target` atomically.
void write_text_atomically(const std::filesystem::path& target, const std::string& content);

// Reads a whole text file; throws DataError naming the file if it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace edge
