#include "edge/common/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "edge/common/error.h"

namespace edge {

namespace fs = std::filesystem;

namespace {

// The pid the holder wrote into the lock file ("?" if it has not yet written it).
std::string holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "?" : pid;
}

// write_atomically's temporaries (".NAME.tmpDIGITS") in `dir`, which a writer killed mid-write
// leaves behind.
void remove_stale_temporaries(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const size_t at = name.rfind(".tmp");
    const bool ours = name.size() > 1 && name[0] == '.' && at != std::string::npos && at + 4 < name.size() &&
                      name.find_first_not_of("0123456789", at + 4) == std::string::npos;
    if (ours && e.is_regular_file(ec)) fs::remove(e.path(), ec);
  }
}

}  // namespace

RunLock::RunLock(const fs::path& run_dir, const std::string& flag) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) throw DataError(fmt::format("{}: cannot create {}: {}", flag, run_dir.string(), ec.message()));
  const fs::path file = run_dir / ".lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw DataError(fmt::format("{}: cannot open {}: {}", flag, file.string(), std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string pid = holder_pid(fd_);
    ::close(fd_);
    if (err == EWOULDBLOCK)
      throw UsageError(fmt::format("{}: {} is being written by another edge process (pid {}); wait for it to end "
                                   "or choose another directory", flag, run_dir.string(), pid));
    throw DataError(fmt::format("{}: cannot lock {}: {}", flag, file.string(), std::strerror(err)));
  }
  // The only writer now: what an earlier, killed one left half-written goes.
  remove_stale_temporaries(run_dir);
  remove_stale_temporaries(run_dir / "checkpoints");
  // The pid serves the message above only; the lock holds without it.
  const std::string pid = std::to_string(::getpid()) + "\n";
  [[maybe_unused]] const bool noted =
      ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) == ssize_t(pid.size());
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace edge
