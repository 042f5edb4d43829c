// Reader for the IDX format of MNIST / Fashion-MNIST (gzipped or raw).
#pragma once

#include <filesystem>

#include <torch/types.h>

namespace edge::data {

// Reads an unsigned-byte IDX file (`*-idx1-ubyte`, `*-idx3-ubyte`, optionally .gz) into
// a uint8 tensor with the file's dimensions. Throws DataError naming the file if it is
// missing, truncated or not unsigned-byte IDX.
torch::Tensor read_idx_ubyte(const std::filesystem::path& path);

}  // namespace edge::data
