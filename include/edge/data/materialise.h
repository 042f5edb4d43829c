// A benchmark written out as files that any tool reads (`edge data materialise`): PNG images,
// manifests for the ID splits and image folders for the OE / OOD sets, all through the
// registry's own readers, so `--dataset manifest:DIR --oe_data folder:DIR/oe
// --ood_data folder:DIR/ood/<set>,...` reads back the very pixels and labels.
//
// Layout under DIR:
//   classes.txt                        the ID classes, one per line (head first)
//   {train,val,test}.csv               image,labels  (labels: class names joined by '|')
//   images/{train,val,test}/NNNNNN.png
//   oe/NNNNNN.png                      the OE set (when the benchmark has one)
//   ood/<set>/NNNNNN.png               each OOD set
//   README.txt                         the flags that read it back
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "edge/data/dataset.h"

namespace edge::data {

struct MaterialisedBenchmark {
  std::string dataset;                // --dataset value that reads the ID splits back
  std::string oe_data;                // --oe_data value ("" without an OE set)
  std::vector<std::string> ood_data;  // --ood_data values, in the benchmark's order
};

// Writes `b` under `dir`, which must not exist (UsageError naming --out otherwise): into a
// temporary sibling first, renamed into place when complete, so an interrupted or failed
// write leaves no half benchmark. Class names holding ',' or '|' are refused (DataError).
// Throws DataError naming the file that could not be written.
MaterialisedBenchmark materialise_benchmark(const Benchmark& b, const std::filesystem::path& dir);

}  // namespace edge::data
