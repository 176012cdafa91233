// Interrupts (SIGINT from Ctrl-C, SIGTERM from kill or a job scheduler) of a long job.
//
// Outside an InterruptScope both signals keep their default action and end the process. Inside
// one, the first signal only records itself: the job stops at its next safe point (the training
// loop: after the step it is in, with a checkpoint) and throws Interrupted, which the CLI turns
// into one line and the shell's exit code for that signal (130, 143). With Policy::second_ends
// a second signal ends the process at once, as it would have without the scope; with
// Policy::count_all (the --nproc launcher, which passes each signal on to its workers) every
// signal is only counted. One scope at a time.
#pragma once

#include <string>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

class InterruptScope {
 public:
  enum class Policy { second_ends, count_all };
  // `notice`: a line written to stderr when the first signal arrives ("" for none).
  explicit InterruptScope(Policy policy, std::string notice = "");
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  // Signals received since the scope began.
  static int count();
  // The last one received (SIGINT or SIGTERM), 0 before any.
  static int last_signal();
};

// A job stopped by a signal at a safe point; what() says where it stopped and how to go on.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& message, int signal) : Error(message), signal_(signal) {}
  int signal() const { return signal_; }
  int exit_code() const { return 128 + signal_; }  // as the shell reports a signal

 private:
  int signal_;
};

// "SIGINT", "SIGTERM" or "signal N".
std::string signal_name(int signal);

}  // namespace gavamoe
