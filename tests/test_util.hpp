// Helpers shared by the test suites: scratch folders, running the gavamoe binary and python3,
// and finding the real datasets through GAVAMOE_DATASETS.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace gavamoe::test {

// A fresh, empty folder for the running test: <build>/test-scratch/<suite>.<test>.
inline std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::filesystem::path dir = std::filesystem::path(GAVAMOE_TEST_SCRATCH) /
                              (std::string(info->test_suite_name()) + "." + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a shell command, capturing stdout and stderr through files in `dir`.
inline CommandResult run_command(const std::string& command, const std::string& dir) {
  const std::string out_path = dir + "/cmd.stdout";
  const std::string err_path = dir + "/cmd.stderr";
  const int status = std::system((command + " >" + out_path + " 2>" + err_path).c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_text(out_path);
  result.err = read_text(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return result;
}

// Runs `gavamoe <args>` (args are passed to the shell as written).
inline CommandResult run_gavamoe(const std::string& args, const std::string& dir) {
  return run_command(std::string(GAVAMOE_BINARY) + " " + args, dir);
}

// Runs python3 on a script file with arguments; fails the test when python3 is missing.
inline CommandResult run_python(const std::string& script, const std::string& args,
                                const std::string& dir) {
  return run_command("python3 " + script + " " + args, dir);
}

inline std::string source_path(const std::string& relative) {
  return std::string(GAVAMOE_SOURCE_DIR) + "/" + relative;
}

// The real datasets folder, or "" (the caller then skips with a clear message).
inline std::string datasets_dir() {
  const char* dir = std::getenv("GAVAMOE_DATASETS");
  return dir ? std::string(dir) : std::string();
}

#define GAVAMOE_REQUIRE_DATASETS(var)                      \
  const std::string var = ::gavamoe::test::datasets_dir(); \
  if (var.empty()) GTEST_SKIP() << "GAVAMOE_DATASETS is not set: real-data test skipped"

// Shell-quotes one argument.
inline std::string quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  return quoted + "'";
}

}  // namespace gavamoe::test
