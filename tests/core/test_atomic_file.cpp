// AtomicFile: outputs appear whole on commit and not at all otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

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

TEST(AtomicFile, StaleTemporariesOfGoneProcessesAreRemoved) {
  namespace fs = std::filesystem;
  const std::string dir = test::scratch_dir();
  const std::string dead = ".tmp-999999999";  // above any pid_max
  const std::string live = ".tmp-" + std::to_string(::getpid());
  fs::create_directories(dir + "/run/checkpoint.pt" + dead + "/inner");
  test::write_text(dir + "/run/config.json" + dead, "{");
  fs::create_directories(dir + "/run/sub");
  test::write_text(dir + "/run/sub/weights.safetensors" + dead, "");
  test::write_text(dir + "/run/config.json" + live, "{");
  test::write_text(dir + "/run/notes.tmp-x", "");
  // A linked folder is another run's: not entered.
  fs::create_directories(dir + "/other");
  test::write_text(dir + "/other/vae.json" + dead, "");
  fs::create_directory_symlink(dir + "/other", dir + "/run/vae");
  remove_stale_temporaries(dir + "/run");
  EXPECT_FALSE(fs::exists(dir + "/run/checkpoint.pt" + dead));
  EXPECT_FALSE(fs::exists(dir + "/run/config.json" + dead));
  EXPECT_FALSE(fs::exists(dir + "/run/sub/weights.safetensors" + dead));
  EXPECT_TRUE(fs::exists(dir + "/run/config.json" + live));
  EXPECT_TRUE(fs::exists(dir + "/run/notes.tmp-x"));
  EXPECT_TRUE(fs::exists(dir + "/other/vae.json" + dead));

  test::write_text(dir + "/out.jsonl" + dead, "");
  test::write_text(dir + "/other.jsonl" + dead, "");
  remove_stale_temporaries_of(dir + "/out.jsonl");
  EXPECT_FALSE(fs::exists(dir + "/out.jsonl" + dead));
  EXPECT_TRUE(fs::exists(dir + "/other.jsonl" + dead));
}

TEST(AtomicFile, WrongPathKindIsNamed) {
  const std::string dir = test::scratch_dir();
  EXPECT_THROW(
      {
        try {
          read_file(dir);
        } catch (const Error& e) {
          EXPECT_EQ(std::string(e.what()), dir + ": is a folder; a file is expected here");
          throw;
        }
      },
      Error);
  EXPECT_THROW(write_file_atomic(dir, "x"), Error);
  test::write_text(dir + "/f", "x");
  EXPECT_THROW(
      {
        try {
          make_dirs(dir + "/f");
        } catch (const Error& e) {
          EXPECT_EQ(std::string(e.what()), dir + "/f: is a file; a folder is expected here");
          throw;
        }
      },
      Error);
}

}  // namespace
}  // namespace gavamoe
