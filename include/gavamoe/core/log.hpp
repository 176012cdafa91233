// Logging to stderr (and optionally a file in the run folder) through spdlog.
//
// Messages are printf-style and checked by the compiler. spdlog stays inside log.cpp so that
// its fmt never meets the fmt that LibTorch ships in its headers.
#pragma once

#include <string>

namespace gavamoe::log {

enum class Level { trace, debug, info, warn, error, off };

// "trace|debug|info|warn|error|off"; throws gavamoe::Error on anything else.
Level parse_level(const std::string& name);
void set_level(Level level);
Level level();

// Raises the level to at least `level` while it lives, then restores the previous one: for a
// dry run of a step (a check before a run folder exists) whose messages the real run logs.
class ScopedLevel {
 public:
  explicit ScopedLevel(Level quieter) : previous_(level()) {
    if (quieter > previous_) set_level(quieter);
  }
  ~ScopedLevel() { set_level(previous_); }
  ScopedLevel(const ScopedLevel&) = delete;
  ScopedLevel& operator=(const ScopedLevel&) = delete;

 private:
  Level previous_;
};
// Also write every message to this file (appended). Empty path stops the file sink.
void set_file(const std::string& path);

void write(Level level, const std::string& message);

#define GAVAMOE_PRINTF(a, b) __attribute__((format(printf, a, b)))
std::string format(const char* fmt, ...) GAVAMOE_PRINTF(1, 2);
void debug(const char* fmt, ...) GAVAMOE_PRINTF(1, 2);
void info(const char* fmt, ...) GAVAMOE_PRINTF(1, 2);
void warn(const char* fmt, ...) GAVAMOE_PRINTF(1, 2);
void error(const char* fmt, ...) GAVAMOE_PRINTF(1, 2);

}  // namespace gavamoe::log
