// Helpers shared by the test executables.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

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

}  // namespace edge::test
