#include "edge/train/checkpoint_file.h"

#include <sstream>
#include <string>

#include <fmt/format.h>
#include <torch/torch.h>

#include "edge/common/atomic_file.h"
#include "edge/common/content_hash.h"
#include "edge/common/error.h"

namespace edge::train {

namespace {

constexpr const char* kPayload = "sealed_checkpoint";
constexpr const char* kChecksum = "fnv1a64";

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

void write_sealed_archive(const std::filesystem::path& file, torch::serialize::OutputArchive& archive) {
  std::ostringstream inner;
  archive.save_to(inner);
  std::string bytes = inner.str();
  torch::serialize::OutputArchive outer;
  outer.write(kChecksum, c10::IValue(hex64(fnv1a(bytes.data(), bytes.size()))));
  outer.write(kPayload, torch::from_blob(bytes.data(), {int64_t(bytes.size())}, torch::kUInt8));
  std::ostringstream sealed;
  outer.save_to(sealed);
  write_bytes_atomically(file, sealed.str());
}

void read_sealed_archive(const std::filesystem::path& file, const torch::Device& device,
                         torch::serialize::InputArchive& out) {
  if (!std::filesystem::exists(file)) throw DataError(fmt::format("checkpoint {} not found", file.string()));
  try {
    torch::serialize::InputArchive outer;
    outer.load_from(file.string(), torch::kCPU);
    c10::IValue checksum;
    if (!outer.try_read(kChecksum, checksum)) {  // written before checkpoints were sealed
      out.load_from(file.string(), device);
      return;
    }
    torch::Tensor payload;
    outer.read(kPayload, payload);
    payload = payload.contiguous();
    const auto* data = payload.data_ptr<uint8_t>();
    const std::string actual = hex64(fnv1a(data, size_t(payload.numel())));
    if (!checksum.isString() || checksum.toStringRef() != actual)
      throw DataError(fmt::format("checkpoint {} is corrupt: its contents hash to {}, its seal says {}", file.string(),
                                  actual, checksum.isString() ? checksum.toStringRef() : "nothing"));
    std::istringstream inner(std::string(reinterpret_cast<const char*>(data), size_t(payload.numel())));
    out.load_from(inner, device);
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("checkpoint {} is corrupt or not a training checkpoint: {}", file.string(),
                                first_line(e.what_without_backtrace())));
  }
}

}  // namespace edge::train
