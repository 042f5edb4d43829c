#include "edge/eval/score_files.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/atomic_file.h"
#include "edge/common/error.h"

namespace edge::eval {

void write_score_file(const std::filesystem::path& file, const std::vector<double>& scores) {
  std::string text;
  text.reserve(scores.size() * 24);
  char buf[64];
  for (double s : scores) {
    std::snprintf(buf, sizeof buf, "%.17g\n", s);
    text += buf;
  }
  write_text_atomically(file, text);
}

std::vector<double> read_score_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw DataError(fmt::format("cannot read score file {}", file.string()));
  std::vector<double> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(std::stod(line));
    } catch (const std::exception&) {
      throw DataError(fmt::format("score file {}: line {} is not a number: '{}'", file.string(), out.size() + 1, line));
    }
  }
  return out;
}

void write_label_file(const std::filesystem::path& file, const torch::Tensor& labels) {
  TORCH_CHECK(labels.dim() == 2, "write_label_file: expected labels [N, C], got ", labels.sizes());
  const torch::Tensor l = (labels.to(torch::kFloat32) > 0.5f).to(torch::kInt64).contiguous();
  const int64_t* p = l.data_ptr<int64_t>();
  std::ostringstream out;
  for (int64_t i = 0; i < l.size(0); ++i)
    for (int64_t c = 0; c < l.size(1); ++c) out << p[i * l.size(1) + c] << (c + 1 == l.size(1) ? '\n' : ' ');
  write_text_atomically(file, out.str());
}

}  // namespace edge::eval
