// Progress bar on a terminal, periodic log lines elsewhere.
#include "gavamoe/core/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "gavamoe/core/log.hpp"

namespace gavamoe {
namespace {

constexpr int kBarWidth = 24;

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "?";
  const auto total = static_cast<long>(seconds + 0.5);
  if (total >= 3600) return log::format("%ldh%02ldm", total / 3600, (total / 60) % 60);
  return log::format("%ldm%02lds", total / 60, total % 60);
}

}  // namespace

Progress::Progress(std::string label, int64_t total, std::string unit, double log_interval_s)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      log_interval_s_(log_interval_s),
      terminal_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() {
  if (terminal_ && !finished_ && printed_) std::fputc('\n', stderr);
}

std::string Progress::render(int64_t done, double loss) const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : -1.0;
  std::string text = label_ + " ";
  if (terminal_ && total_ > 0) {
    const int filled = static_cast<int>(kBarWidth * done / total_);
    text += "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "] ";
  }
  // A slow loop (a 135M model on 2 cores) shows seconds per step rather than "0.0 step/s".
  const std::string speed = rate >= 1.0 || rate <= 0
                                ? log::format("%.1f %s/s", rate, unit_.c_str())
                                : log::format("%.1f s/%s", 1.0 / rate, unit_.c_str());
  text += log::format("%lld/%lld %s, %s, ETA %s", static_cast<long long>(done),
                      static_cast<long long>(total_), unit_.c_str(), speed.c_str(),
                      format_duration(eta).c_str());
  if (loss >= 0) text += log::format(", loss %.4f", loss);
  return text;
}

bool Progress::due() const {
  const double since =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_print_).count();
  return since >= (terminal_ ? 0.1 : log_interval_s_);
}

void Progress::update(int64_t done, double loss) {
  last_done_ = done;
  if (loss >= 0) last_loss_ = loss;
  if (!due()) return;
  if (terminal_) {
    std::fprintf(stderr, "\r%s\033[K", render(done, last_loss_).c_str());
    std::fflush(stderr);
  } else {
    log::info("%s", render(done, last_loss_).c_str());
  }
  printed_ = true;
  last_print_ = std::chrono::steady_clock::now();
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!printed_) return;
  if (terminal_) {
    std::fprintf(stderr, "\r%s\033[K\n", render(last_done_, last_loss_).c_str());
  } else {
    log::info("%s", render(last_done_, last_loss_).c_str());
  }
}

}  // namespace gavamoe
