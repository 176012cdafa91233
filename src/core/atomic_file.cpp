// Atomic output files: temporary name, then rename.
#include "gavamoe/core/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

AtomicFile::AtomicFile(std::string path, bool binary)
    : path_(std::move(path)), temp_path_(path_ + ".tmp-" + std::to_string(::getpid())) {
  out_.open(temp_path_, binary ? std::ios::binary | std::ios::out : std::ios::out);
  if (!out_) throw file_error(path_, std::string("cannot write: ") + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    out_.close();
    std::remove(temp_path_.c_str());
  }
}

void AtomicFile::commit() {
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok) throw file_error(path_, "write failed (disk full?)");
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0)
    throw file_error(path_, std::string("cannot rename into place: ") + std::strerror(errno));
  committed_ = true;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  AtomicFile file(path, true);
  file.stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  file.commit();
}

void write_folder_atomic(const std::string& dir,
                         const std::function<void(const std::filesystem::path& temp_dir)>& fill) {
  namespace fs = std::filesystem;
  const fs::path final_dir(dir);
  const fs::path temp_dir = final_dir.string() + ".tmp-" + std::to_string(::getpid());
  std::error_code ignored;
  fs::remove_all(temp_dir, ignored);
  try {
    make_dirs(temp_dir.string());
    fill(temp_dir);
    if (fs::exists(final_dir)) {
      if (!fs::is_directory(final_dir) || !fs::is_empty(final_dir))
        throw file_error(dir, "output folder exists and is not empty");
      fs::remove(final_dir);
    }
    fs::rename(temp_dir, final_dir);
  } catch (...) {
    fs::remove_all(temp_dir, ignored);
    throw;
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) throw file_error(path, "no such file");
    throw file_error(path, std::string("cannot read: ") + std::strerror(errno));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw file_error(path, "cannot create folder: " + ec.message());
}

}  // namespace gavamoe
