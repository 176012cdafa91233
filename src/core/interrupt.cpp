// Interrupts of a long job (interrupt.hpp): a signal handler that only counts, restored on exit.
#include "gavamoe/core/interrupt.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

namespace gavamoe {
namespace {

// Written by the handler, read by the job: only sig_atomic_t may be shared with a handler.
volatile std::sig_atomic_t g_count = 0;
volatile std::sig_atomic_t g_signal = 0;
// Set before the handler is installed, constant while it is.
InterruptScope::Policy g_policy = InterruptScope::Policy::second_ends;
char g_notice[256];
size_t g_notice_size = 0;
bool g_active = false;
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

extern "C" void on_interrupt(int signal) {
  const int saved_errno = errno;
  if (g_count > 0 && g_policy == InterruptScope::Policy::second_ends) {
    // Blocked while the handler runs: the default action happens as it returns.
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    errno = saved_errno;
    return;
  }
  g_count = g_count + 1;
  g_signal = signal;
  if (g_count == 1 && g_notice_size > 0) {
    const ssize_t written = ::write(STDERR_FILENO, g_notice, g_notice_size);
    (void)written;  // nothing to do about a closed stderr here
  }
  errno = saved_errno;
}

}  // namespace

InterruptScope::InterruptScope(Policy policy, std::string notice) {
  if (g_active) throw Error("internal: interrupt scopes may not nest");
  g_active = true;
  g_count = 0;
  g_signal = 0;
  g_policy = policy;
  if (!notice.empty() && notice.back() != '\n') notice += '\n';
  g_notice_size = std::min(notice.size(), sizeof g_notice);
  std::memcpy(g_notice, notice.data(), g_notice_size);
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // file writes and waits carry on across the signal
  // A signal the process was started ignoring (a background job of a script) stays ignored.
  for (auto [signal, previous] :
       {std::pair{SIGINT, &g_previous_int}, {SIGTERM, &g_previous_term}}) {
    sigaction(signal, nullptr, previous);
    if (previous->sa_handler != SIG_IGN) sigaction(signal, &action, nullptr);
  }
}

InterruptScope::~InterruptScope() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
  g_active = false;
}

int InterruptScope::count() { return g_count; }

int InterruptScope::last_signal() { return g_signal; }

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

}  // namespace gavamoe
