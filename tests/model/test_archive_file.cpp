// Archives written through memory: they read back with LibTorch's own reader, and a full disk
// (a 1 MiB tmpfs, where the test may mount one) is one gavamoe::Error with no file left behind.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/archive_file.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

TEST(ArchiveFile, ReadsBackWithTorch) {
  const std::string path = test::scratch_dir() + "/a.pt";
  torch::serialize::OutputArchive archive;
  const torch::Tensor tensor = torch::arange(12, torch::kFloat32).reshape({3, 4});
  archive.write("weights", tensor);
  save_archive(archive, path);
  torch::serialize::InputArchive in;
  in.load_from(path);
  torch::Tensor back;
  in.read("weights", back);
  EXPECT_TRUE(torch::equal(back, tensor));
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

// A small tmpfs, unmounted at the end; skipped where mounting is not allowed (not root).
class FullDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::scratch_dir() + "/tmpfs";
    fs::create_directories(dir_);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=1m") != 0)
      GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount(dir_.c_str());
  }
  bool empty() const { return fs::is_empty(dir_); }
  std::string dir_;
  bool mounted_ = false;
};

TEST_F(FullDisk, ArchiveIsOneErrorAndNoFile) {
  torch::serialize::OutputArchive archive;
  archive.write("big", torch::zeros({1 << 20}));  // 4 MiB
  const std::string path = dir_ + "/optimizer.pt";
  try {
    save_archive(archive, path);
    FAIL() << "no error on a full disk";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_TRUE(empty());
}

TEST_F(FullDisk, SafetensorsIsOneErrorAndNoFile) {
  const std::string path = dir_ + "/weights.safetensors";
  EXPECT_THROW(write_safetensors(path, {{"big", torch::zeros({1 << 20})}}), Error);
  EXPECT_TRUE(empty());
}

}  // namespace
}  // namespace gavamoe
