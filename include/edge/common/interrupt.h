// SIGINT / SIGTERM while a command works. The handler only notes the signal; the work checks
// at safe points (train::Trainer: between steps) and throws Interrupted, so that a file being
// written -- a checkpoint -- is finished and the last checkpoint stays valid. The CLI prints
// the one line and exits 128 + signal (130 for SIGINT, 143 for SIGTERM), as shells expect.
#pragma once

#include <signal.h>

#include <stdexcept>
#include <string>

namespace edge {

class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, const std::string& what) : std::runtime_error(what), signal_(signal) {}
  int signal() const { return signal_; }
  int exit_code() const { return 128 + signal_; }

 private:
  int signal_;
};

// Catches SIGINT and SIGTERM for the life of the object (the previous handlers come back
// after; a second signal while one is pending ends the process as the default would).
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_{};
};

// The signal noted since the innermost scope began, 0 if none.
int pending_interrupt();

// "SIGINT", "SIGTERM" or "signal N".
std::string signal_name(int signal);

}  // namespace edge
