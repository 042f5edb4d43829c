#include "edge/common/device.h"

#include <algorithm>

#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "edge/common/error.h"

namespace edge {

namespace {

bool parse_index(const std::string& s, int& out) {
  if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  out = std::stoi(s);
  return true;
}

}  // namespace

std::string cuda_availability() {
  return fmt::format("LibTorch {} sees {} CUDA device(s)", TORCH_VERSION, torch::cuda::device_count());
}

torch::Device resolve_device(const std::string& spec, int default_index) {
  if (spec == "cpu") return torch::kCPU;
  int index = default_index;
  if (spec != "cuda" && !(spec.rfind("cuda:", 0) == 0 && parse_index(spec.substr(5), index)))
    throw UsageError(fmt::format("--device: expected cpu, cuda or cuda:N, got '{}'", spec));
  if (!torch::cuda::is_available())
    throw UsageError(fmt::format("--device {}: CUDA is not available in this build or on this machine ({}); use "
                                 "--device cpu", spec, cuda_availability()));
  const int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count)
    throw UsageError(fmt::format("--device {}: no CUDA device {} ({})", spec, index, cuda_availability()));
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::vector<int> parse_device_ids(const std::string& list) {
  std::vector<int> ids;
  std::string cur;
  for (char ch : list + ",") {
    if (ch != ',') {
      cur += ch;
      continue;
    }
    int id = 0;
    if (!parse_index(cur, id))
      throw UsageError(fmt::format("--device-id: expected comma-separated GPU indices like 0,1, got '{}'", list));
    if (std::find(ids.begin(), ids.end(), id) != ids.end())
      throw UsageError(fmt::format("--device-id: GPU {} is listed twice in '{}'", id, list));
    ids.push_back(id);
    cur.clear();
  }
  if (!torch::cuda::is_available())
    throw UsageError(fmt::format("--device-id {}: CUDA is not available in this build or on this machine ({}); "
                                 "for several CPU processes use --nproc N",
                                 list, cuda_availability()));
  const int count = static_cast<int>(torch::cuda::device_count());
  for (int id : ids)
    if (id >= count) throw UsageError(fmt::format("--device-id {}: no CUDA device {} ({})", list, id, cuda_availability()));
  return ids;
}

}  // namespace edge
