// Logging facade over spdlog: stderr always, a run-folder file on request.
#include "gavamoe/core/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <vector>

#include "gavamoe/core/error.hpp"

namespace gavamoe::log {
namespace {

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto made = std::make_shared<spdlog::logger>("gavamoe", sink);
    made->set_pattern("[%H:%M:%S] %^%l%$ %v");
    made->set_level(spdlog::level::info);
    made->flush_on(spdlog::level::info);
    return made;
  }();
  return *instance;
}

std::shared_ptr<spdlog::sinks::basic_file_sink_mt>& file_sink() {
  static std::shared_ptr<spdlog::sinks::basic_file_sink_mt> sink;
  return sink;
}

std::string vformat(const char* fmt, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int size = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (size <= 0) return {};
  std::vector<char> buffer(static_cast<size_t>(size) + 1);
  std::vsnprintf(buffer.data(), buffer.size(), fmt, args);
  return std::string(buffer.data(), static_cast<size_t>(size));
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace:
      return spdlog::level::trace;
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

// The level as set (spdlog keeps only its own enum).
Level& current_level() {
  static Level level = Level::info;
  return level;
}

}  // namespace

Level parse_level(const std::string& name) {
  if (name == "trace") return Level::trace;
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warn") return Level::warn;
  if (name == "error") return Level::error;
  if (name == "off") return Level::off;
  throw Error("--log-level: unknown level '" + name + "' (trace, debug, info, warn, error, off)");
}

void set_level(Level level) {
  current_level() = level;
  logger().set_level(to_spdlog(level));
}

Level level() { return current_level(); }

void set_file(const std::string& path) {
  auto& sinks = logger().sinks();
  if (file_sink()) {
    sinks.erase(std::remove(sinks.begin(), sinks.end(), file_sink()), sinks.end());
    file_sink().reset();
  }
  if (path.empty()) return;
  try {
    file_sink() = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  } catch (const spdlog::spdlog_ex& e) {
    throw file_error(path, std::string("cannot open log file: ") + e.what());
  }
  file_sink()->set_pattern("[%Y-%m-%d %H:%M:%S] %l %v");
  sinks.push_back(file_sink());
}

void write(Level level, const std::string& message) { logger().log(to_spdlog(level), message); }

std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::string text = vformat(fmt, args);
  va_end(args);
  return text;
}

#define GAVAMOE_LOG_FUNCTION(name)          \
  void name(const char* fmt, ...) {         \
    va_list args;                           \
    va_start(args, fmt);                    \
    write(Level::name, vformat(fmt, args)); \
    va_end(args);                           \
  }
GAVAMOE_LOG_FUNCTION(debug)
GAVAMOE_LOG_FUNCTION(info)
GAVAMOE_LOG_FUNCTION(warn)
GAVAMOE_LOG_FUNCTION(error)

}  // namespace gavamoe::log
