// Training checkpoints on disk, sealed: the trainer's archive (torch::serialize) is stored
// as one byte record beside its FNV-1a 64 checksum in an outer torch archive, and the
// checksum is verified on every load, so that a flipped byte or a tensor overwritten with
// NaNs is reported instead of resumed from (LibTorch checks no checksum of its own).
// Written atomically, and in memory first, so that a full disk is a one-line error.
#pragma once

#include <filesystem>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

namespace edge::train {

void write_sealed_archive(const std::filesystem::path& file, torch::serialize::OutputArchive& archive);

// Loads `file` onto `device` into `out` after checking its seal. A checkpoint written before
// sealing existed (no checksum record) is loaded as it is. Throws DataError naming the file
// for a missing, unreadable or corrupt one, and for a checksum that does not match.
void read_sealed_archive(const std::filesystem::path& file, const torch::Device& device,
                         torch::serialize::InputArchive& out);

}  // namespace edge::train
