#include "edge/common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include "edge/common/error.h"

namespace edge {

namespace fs = std::filesystem;

namespace {

// The first line of a library's message (c10 appends a backtrace).
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

[[noreturn]] void cannot_write(const fs::path& target, const std::string& why) {
  throw DataError(fmt::format("cannot write {}: {}", target.string(), why));
}

}  // namespace

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw DataError("cannot create directory " + dir.string() + ": " + ec.message());
  std::random_device rd;
  const fs::path tmp = dir / ("." + target.filename().string() + ".tmp" + std::to_string(rd()));
  // Whatever fails -- a full disk, an I/O error, a library's own exception -- the temporary
  // file goes and one line names the target and the reason.
  try {
    write(tmp);
    fs::rename(tmp, target);
  } catch (const fs::filesystem_error& e) {
    fs::remove(tmp, ec);
    cannot_write(target, e.code().message());
  } catch (const c10::Error& e) {
    fs::remove(tmp, ec);
    cannot_write(target, first_line(e.what_without_backtrace()));
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void write_file_bytes(const fs::path& path, const char* data, size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) cannot_write(path, std::strerror(errno));
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      cannot_write(path, std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  // On the disk before the rename makes it the file: a crash then leaves the old file or the new one.
  if (::fsync(fd) != 0 || ::close(fd) != 0) cannot_write(path, std::strerror(errno));
}

void write_bytes_atomically(const fs::path& target, const std::string& bytes) {
  write_atomically(target, [&](const fs::path& tmp) {
    try {
      write_file_bytes(tmp, bytes.data(), bytes.size());
    } catch (const DataError& e) {
      // Name the file the user knows, not its temporary sibling.
      std::string what = e.what();
      const std::string from = tmp.string();
      if (const size_t at = what.find(from); at != std::string::npos) what.replace(at, from.size(), target.string());
      throw DataError(what);
    }
  });
}

void write_text_atomically(const fs::path& target, const std::string& content) {
  write_bytes_atomically(target, content);
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open " + path.string() + ": no such file or not readable");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace edge
