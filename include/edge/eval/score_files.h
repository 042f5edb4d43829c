// Raw OOD scores as plain text, so anyone can recompute the metrics (e.g. with sklearn):
//   DIR/<score>/<set>.txt   one score per line (%.17g, exact round trip), in set order;
//   DIR/id_test_labels.txt  the ID test labels, one image per line, C values 0/1.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

namespace edge::eval {

void write_score_file(const std::filesystem::path& file, const std::vector<double>& scores);
std::vector<double> read_score_file(const std::filesystem::path& file);
void write_label_file(const std::filesystem::path& file, const torch::Tensor& labels);

}  // namespace edge::eval
