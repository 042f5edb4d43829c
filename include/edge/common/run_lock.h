// One writer per run directory. `edge train --out DIR` and `edge train --resume DIR` hold
// an advisory lock (flock) on DIR/.lock while they write; a second writer is refused at once
// with the first one's pid. The kernel drops the lock when its process ends, however it ends
// (kill -9 included), so no stale lock ever blocks a resume.
#pragma once

#include <filesystem>
#include <string>

namespace edge {

class RunLock {
 public:
  // Creates `run_dir` if needed, locks it, and removes the temporary files (write_atomically's)
  // that a killed writer left in it and in its checkpoints/. Throws UsageError naming `flag` and the other
  // writer's pid if another process holds the lock, DataError if the lock file cannot be made.
  RunLock(const std::filesystem::path& run_dir, const std::string& flag);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace edge
