// Checking a MATLAB .mat file's structure before matio reads it. Private to the readers.
//
// matio allocates what an element tag, a variable's dimensions or its name length declare
// before it reads the bytes behind them, so a damaged 461-byte file made it ask for 4 GB
// (a fuzz finding). This walk proves every declared size is backed by the file first.
#pragma once

#include <filesystem>

namespace edge::data::detail {

// Throws DataError naming the file and the variable (its position and byte offset) when an
// element, a variable's dimensions or its name declare more bytes than the file holds (inside
// a compressed variable: more than its stream inflates to, or than deflate can expand its
// bytes to), or variables nest more than 32 deep. Reads only the tags of uncompressed
// variables; inflates compressed ones once. Of a v7.3 (HDF5) file, checks that the file holds
// the bytes its superblock declares; the rest is left to HDF5's own checks.
void check_mat_structure(const std::filesystem::path& path);

}  // namespace edge::data::detail
