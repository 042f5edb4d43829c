// Helpers shared by the test executables.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edge/common/cpu_features.h"

// Skips a test that runs bf16 convolutions through LibTorch where a oneDNN ISA cap below
// AVX-512 on AVX-512 hardware leaves them no kernel (CpuFeatures::bf16_convolutions_unavailable):
// the one thing .ci/run's AVX2 pass cannot emulate. A real AVX2 CPU runs these tests.
#define EDGE_SKIP_IF_BF16_CONVOLUTIONS_UNAVAILABLE()                                                    \
  do {                                                                                                \
    if (::edge::cpu_features().bf16_convolutions_unavailable)                                         \
      GTEST_SKIP() << "DNNL_MAX_CPU_ISA below AVX512_CORE on an AVX-512 CPU: LibTorch still sends bf16 " \
                      "convolutions to oneDNN, which has no kernel for them there";                    \
  } while (0)

namespace edge::test {

// Directory holding the committed golden fixtures (tests/fixtures).
std::filesystem::path fixtures_dir();

// Debian's python3 (the one that sees python3-torch / python3-sklearn), or "" if absent.
std::string system_python();

// True when `system_python()` can import every module in the comma-separated list.
bool python_has_modules(const std::string& modules);

// Runs `system_python()` on `script` (text), returns stdout; throws on a non-zero exit.
std::string run_python(const std::string& script);

// Result of running the `edge` CLI in-process.
struct CliResult {
  int code;
  std::string out, err;
};

// Runs edge::app::cli_main with `args` (without the program name), capturing both streams.
CliResult run_cli(std::vector<std::string> args);

// A fresh empty directory under the system temp dir, removed by the destructor.
// One `edge` process (the built binary) with extra environment variables, its output in
// files `log_stem`.out / .err.
struct Proc {
  int pid = -1;
  std::filesystem::path out, err;
};
Proc start_edge(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                const std::filesystem::path& log_stem);

// Its exit code (128 + signal if a signal ended it), or -1 after killing it when it runs
// past `limit` (the test's hard bound).
int wait_for(Proc& p, std::chrono::seconds limit);

// A whole file as a string ("" if it cannot be read).
std::string slurp(const std::filesystem::path& f);

// How often `what` occurs in `s` (overlapping occurrences counted).
size_t count_occurrences(const std::string& s, const std::string& what);

// A limit on the size of files this process writes, for the life of the object: a write past
// it fails with EFBIG ("File too large"), as a full disk fails a write (SIGXFSZ is ignored
// meanwhile).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t bytes);
  ~FileSizeLimit();
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  uint64_t old_cur_ = 0;
  void (*old_handler_)(int) = nullptr;
};

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The message of the exception of type E that f() throws, or "<no error>" when it throws
// none. Exceptions of other types escape and fail the test (E = edge::DataError, say, checks
// the kind of error as well as its text).
template <typename E = std::exception, typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace edge::test
