#include "fuzz/fuzz_target.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <system_error>

namespace edge::fuzz {

namespace fs = std::filesystem;

std::map<std::string, Target>& targets() {
  static std::map<std::string, Target> all;
  return all;
}

namespace {

struct Scratch {
  fs::path dir;
  Scratch() {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("edge-fuzz-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

bool verbose() {
  static const bool on = std::getenv("EDGE_FUZZ_VERBOSE") != nullptr;
  return on;
}

const fs::path& scratch_dir() {
  static const Scratch scratch;
  return scratch.dir;
}

fs::path scratch_file(const std::string& relative, const uint8_t* data, size_t size) {
  const fs::path file = scratch_dir() / relative;
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return file;
}

fs::path scratch_file(const std::string& relative, const std::string& text) {
  return scratch_file(relative, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

}  // namespace edge::fuzz
