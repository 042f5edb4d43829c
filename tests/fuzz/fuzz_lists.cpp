// The list readers of the labelled datasets: manifest CSV / TSV, COCO instances json, VOC
// annotation xml and image-set list, NUS-WIDE image and label lists. Each gets the bytes as
// the one file it parses, beside fixed well-formed companions, and collects problems.
#include <algorithm>
#include <cstring>

#include <torch/torch.h>

#include "edge/data/readers.h"
#include "fuzz/fuzz_target.h"

namespace {

namespace fs = std::filesystem;
using edge::fuzz::scratch_file;

// The labels must have the images' rows, whatever was read.
void check(const edge::data::Dataset& d) {
  if (d.has_labels()) TORCH_CHECK(d.labels.size(0) == d.size(), "labels ", d.labels.sizes(), " for ", d.size());
}

}  // namespace

EDGE_FUZZ_TARGET(manifest) {
  edge::fuzz::clean_errors_only([&] {
    // A tab in the header row makes it a TSV, else a CSV.
    const auto* eol = static_cast<const uint8_t*>(std::memchr(data, '\n', size));
    const bool tsv = std::memchr(data, '\t', eol ? static_cast<size_t>(eol - data) : size) != nullptr;
    scratch_file("manifest/classes.txt", "cat\ndog\ntraffic light\n");
    const fs::path file = scratch_file(tsv ? "manifest/train.tsv" : "manifest/train.csv", data, size);
    edge::data::Problems problems;
    check(edge::data::read_manifest(file, &problems));
  });
}

EDGE_FUZZ_TARGET(coco) {
  edge::fuzz::clean_errors_only([&] {
    const fs::path json = scratch_file("coco/instances.json", data, size);
    fs::create_directories(json.parent_path() / "train2014");
    edge::data::Problems problems;
    check(edge::data::read_coco(json, json.parent_path() / "train2014", &problems));
  });
}

EDGE_FUZZ_TARGET(voc_xml) {
  edge::fuzz::clean_errors_only([&] {
    // The bytes are the annotation of image "a"; the list names a and b (b has none).
    const fs::path voc = edge::fuzz::scratch_dir() / "voc";
    scratch_file("voc/ImageSets/Main/train.txt", "a\nb\n");
    scratch_file("voc/Annotations/a.xml", data, size);
    edge::data::Problems problems;
    check(edge::data::read_voc_xml(voc, "train", &problems));
  });
}

EDGE_FUZZ_TARGET(voc_list) {
  edge::fuzz::clean_errors_only([&] {
    const fs::path list = scratch_file("voclist/ImageSets/Main/test.txt", data, size);
    edge::data::Problems problems;
    check(edge::data::read_voc_xml(list.parent_path().parent_path().parent_path(), "test", &problems));
  });
}

EDGE_FUZZ_TARGET(nus_wide) {
  edge::fuzz::clean_errors_only([&] {
    // Image list, then a NUL byte, then the label rows (either may be empty).
    const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
    const size_t split = nul ? static_cast<size_t>(nul - data) : size;
    scratch_file("nus/nus_wide_train_imglist.txt", data, split);
    const size_t labels = std::min(split + 1, size);
    scratch_file("nus/nus_wide_train_label.txt", data + labels, size - labels);
    edge::data::Problems problems;
    check(edge::data::read_nus_wide(edge::fuzz::scratch_dir() / "nus", "train", &problems));
  });
}
