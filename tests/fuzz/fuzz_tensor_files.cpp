// The readers of binary tensor files: IDX (MNIST, gzipped or not), MATLAB .mat (the VOC lists
// and SVHN, through matio), the .pth / torch-file reader with its own unpickler
// (src/model/torch_file.cpp), and sealed training checkpoints.
#include <torch/torch.h>

#include "edge/data/idx_reader.h"
#include "edge/data/readers.h"
#include "edge/model/torch_file.h"
#include "edge/train/checkpoint_file.h"
#include "fuzz/fuzz_target.h"

namespace {
// gzip's magic picks the .gz name, as the registry's file names do.
bool gzipped(const uint8_t* data, size_t size) { return size >= 2 && data[0] == 0x1f && data[1] == 0x8b; }
}  // namespace

EDGE_FUZZ_TARGET(idx) {
  edge::fuzz::clean_errors_only([&] {
    const auto name = gzipped(data, size) ? "x-idx3-ubyte.gz" : "x-idx3-ubyte";
    const auto file = edge::fuzz::scratch_file(name, data, size);
    (void)edge::data::read_idx_ubyte(file);
  });
}

EDGE_FUZZ_TARGET(mat) {
  if (!edge::data::mat_files_supported()) return;
  edge::fuzz::clean_errors_only([&] {
    const auto file = edge::fuzz::scratch_file("pascal/voc12-train.mat", data, size);
    edge::data::Problems problems;
    (void)edge::data::read_voc_mat(file, &problems);
  });
  edge::fuzz::clean_errors_only([&] {
    (void)edge::data::read_svhn_mat(edge::fuzz::scratch_dir() / "pascal" / "voc12-train.mat", "svhn");
  });
}

EDGE_FUZZ_TARGET(torch_file) {
  edge::fuzz::clean_errors_only(
      [&] { (void)edge::model::load_torch_file(edge::fuzz::scratch_file("w.pth", data, size)); });
}

EDGE_FUZZ_TARGET(checkpoint) {
  edge::fuzz::clean_errors_only([&] {
    torch::serialize::InputArchive archive;
    edge::train::read_sealed_archive(edge::fuzz::scratch_file("last.ckpt", data, size), torch::kCPU, archive);
  });
}
