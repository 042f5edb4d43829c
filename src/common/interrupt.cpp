#include "edge/common/interrupt.h"

#include <atomic>
#include <csignal>

namespace edge {

namespace {

std::atomic<int> g_pending{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler may only touch a lock-free atomic");

extern "C" void note_signal(int signal) {
  // A second signal while the first is still pending: the user insists; end as the default would.
  if (g_pending.exchange(signal) != 0) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}

}  // namespace

InterruptScope::InterruptScope() {
  g_pending = 0;
  struct sigaction a {};
  a.sa_handler = note_signal;
  sigemptyset(&a.sa_mask);
  sigaction(SIGINT, &a, &old_int_);
  sigaction(SIGTERM, &a, &old_term_);
}

InterruptScope::~InterruptScope() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  g_pending = 0;
}

int pending_interrupt() { return g_pending.load(); }

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

}  // namespace edge
