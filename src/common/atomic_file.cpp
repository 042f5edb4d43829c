#include "edge/common/atomic_file.h"

#include <fstream>
#include <random>
#include <sstream>

#include "edge/common/error.h"

namespace edge {

namespace fs = std::filesystem;

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw DataError("cannot create directory " + dir.string() + ": " + ec.message());
  std::random_device rd;
  const fs::path tmp = dir / ("." + target.filename().string() + ".tmp" + std::to_string(rd()));
  try {
    write(tmp);
    fs::rename(tmp, target);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void write_text_atomically(const fs::path& target, const std::string& content) {
  write_atomically(target, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out << content;
    out.close();
    if (!out) throw DataError("cannot write " + target.string());
  });
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open " + path.string() + ": no such file or not readable");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace edge
