// The Hugging Face reference of the text tests: tests/text/hf_reference.py run once per test
// process in the venv (GAVAMOE_PYTHON or ~/.cache/gavamoe/venv), its output kept under the
// build's test scratch folder in a subfolder named by a hash of the script and the datasets
// folder, so a rerun with the same script reuses it. Absent python or packages make the tests
// that need it skip; a failing script fails them.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "model/venv_python.hpp"
#include "test_util.hpp"

namespace gavamoe::test {

struct HfReference {
  std::string dir;
  nlohmann::json json;
  std::string skip;   // why the reference is missing (skip), or ""
  std::string error;  // why the script failed (fail), or ""
};

// An exclusive flock(2) on `path`, released when it goes out of scope.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_CREAT | O_RDWR, 0644)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

inline const HfReference& hf_reference() {
  static const HfReference reference = [] {
    HfReference r;
    const std::string python = venv_python();
    if (python.empty()) {
      r.skip = "no venv python (set GAVAMOE_PYTHON): Hugging Face comparison skipped";
      return r;
    }
    const std::string script = source_path("tests/text/hf_reference.py");
    const std::string datasets = datasets_dir();
    const size_t key = std::hash<std::string>()(read_text(script) + "|" + datasets);
    r.dir = std::string(GAVAMOE_TEST_SCRATCH) + "/text-hf-reference/" + std::to_string(key);
    const std::string result = r.dir + "/reference.json";
    // Test processes run in parallel: the first makes the reference, the others wait for it
    // instead of removing and rewriting the folder under it.
    std::filesystem::create_directories(std::filesystem::path(r.dir).parent_path());
    const FileLock lock(r.dir + ".lock");
    if (!std::filesystem::exists(result)) {
      std::filesystem::remove_all(r.dir);
      std::filesystem::create_directories(r.dir);
      const CommandResult run =
          run_command(quote(python) + " " + quote(script) + " " + quote(r.dir) +
                          (datasets.empty() ? "" : " " + quote(datasets)),
                      std::string(GAVAMOE_TEST_SCRATCH));
      if (run.exit_code == 3) {
        r.skip = "Hugging Face reference skipped: " + run.out;
        return r;
      }
      if (run.exit_code != 0 || !std::filesystem::exists(result)) {
        r.error = "tests/text/hf_reference.py failed (" + std::to_string(run.exit_code) +
                  "): " + run.err.substr(run.err.size() > 3000 ? run.err.size() - 3000 : 0);
        return r;
      }
    }
    r.json = nlohmann::json::parse(read_text(result));
    return r;
  }();
  return reference;
}

}  // namespace gavamoe::test

// Binds `var` to the reference, skipping or failing the test when it is missing.
#define GAVAMOE_REQUIRE_HF_REFERENCE(var)                                    \
  const ::gavamoe::test::HfReference& var = ::gavamoe::test::hf_reference(); \
  if (!var.skip.empty()) GTEST_SKIP() << var.skip;                           \
  ASSERT_TRUE(var.error.empty()) << var.error
