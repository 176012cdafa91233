// Progress of a long loop: step, rate, ETA and the current loss.
//
// On a terminal it redraws one line on stderr; otherwise (a log file, CI) it writes a log line
// at most every `log_interval_s` seconds, so long jobs stay readable in both.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace gavamoe {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "step",
           double log_interval_s = 10.0);
  ~Progress();

  // True when the next update() will print: callers compute an expensive loss only then.
  bool due() const;
  // `done` steps finished so far; `loss` < 0 means "no loss to show".
  void update(int64_t done, double loss = -1.0);
  // Final line on a terminal; elsewhere only when the loop was long enough to have logged.
  void finish();

 private:
  std::string render(int64_t done, double loss) const;

  std::string label_;
  int64_t total_;
  std::string unit_;
  double log_interval_s_;
  bool terminal_;
  bool finished_ = false;
  bool printed_ = false;
  int64_t last_done_ = 0;
  double last_loss_ = -1.0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

}  // namespace gavamoe
