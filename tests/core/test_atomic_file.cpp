// AtomicFile: outputs appear whole on commit and not at all otherwise.
#include <gtest/gtest.h>

#include <filesystem>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

TEST(AtomicFile, CommitRenamesIntoPlace) {
  const std::string path = test::scratch_dir() + "/out.txt";
  {
    AtomicFile file(path);
    file.stream() << "hello";
    EXPECT_FALSE(std::filesystem::exists(path));
    file.commit();
  }
  EXPECT_EQ(test::read_text(path), "hello");
}

TEST(AtomicFile, UncommittedLeavesNothing) {
  const std::string dir = test::scratch_dir();
  {
    AtomicFile file(dir + "/out.txt");
    file.stream() << "partial";
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST(AtomicFile, UnwritableFolderIsAnErrorNamingThePath) {
  try {
    write_file_atomic("/nonexistent-folder/out.txt", "x");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-folder/out.txt"), std::string::npos);
  }
}

}  // namespace
}  // namespace gavamoe
