// Error types of the EDGE library. Every message is one line that names the
// file, flag or tensor concerned and what was expected; the CLI prints it as is.
#pragma once

#include <stdexcept>
#include <string>

namespace edge {

// Bad command-line usage: unknown flag, bad value, incompatible options (exit code 2).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad or missing input data or files: corrupt image, wrong shape, missing file (exit code 1).
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Training diverged (non-finite loss) or another numerical failure (exit code 1).
class NumericError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace edge
