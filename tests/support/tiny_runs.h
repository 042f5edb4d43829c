// Small, fast inputs several tests share: a tiny fashion-lt training run and a
// torchvision-layout ResNet-18 state_dict with random weights.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace edge::test {

// `edge train` arguments for a 2-epoch fashion-lt run of a few hundred images (a few
// seconds on 2 cores) writing into `out`; `score` is the training mode.
std::vector<std::string> tiny_train_args(const std::filesystem::path& out, const std::string& score = "joint");

// Writes `dir/r18.pth`: a resnet18 state_dict in torchvision's layout (random weights,
// seed 21, zero 1000-class `fc`), as `--pretrained` expects; returns its path.
std::filesystem::path write_resnet18_weights(const std::filesystem::path& dir);

}  // namespace edge::test
