// Atomic output files: temporary name, then rename.
#include "gavamoe/core/atomic_file.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTempMarker = ".tmp-";

// The writer's process id of a temporary name "<name>.tmp-<pid>", or 0 for any other name.
pid_t temporary_owner(const std::string& name) {
  const size_t at = name.rfind(kTempMarker);
  if (at == std::string::npos || at == 0) return 0;
  const std::string digits = name.substr(at + std::strlen(kTempMarker));
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  return static_cast<pid_t>(std::stol(digits));
}

// Whether `entry` is a temporary whose writer is gone, to be removed. Our own temporaries are
// being written; a process we may not signal (EPERM) is alive.
bool is_stale_temporary(const fs::path& entry) {
  const pid_t owner = temporary_owner(entry.filename().string());
  if (owner <= 0 || owner == ::getpid()) return false;
  return ::kill(owner, 0) != 0 && errno == ESRCH;
}

void remove_stale(const fs::path& entry) {
  std::error_code ec;
  fs::remove_all(entry, ec);
  if (ec)
    log::warn("%s: cannot remove this leftover of a killed run: %s", entry.string().c_str(),
              ec.message().c_str());
  else
    log::info("removed %s, left by a process that is gone", entry.string().c_str());
}

}  // namespace

AtomicFile::AtomicFile(std::string path, bool binary)
    : path_(std::move(path)), temp_path_(path_ + kTempMarker + std::to_string(::getpid())) {
  if (std::filesystem::is_directory(path_)) throw file_error(path_, kFolderNotFile);
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
  const fs::path final_dir(dir);
  const fs::path temp_dir = final_dir.string() + kTempMarker + std::to_string(::getpid());
  remove_stale_temporaries_of(dir);
  std::error_code ignored;
  fs::remove_all(temp_dir, ignored);
  try {
    make_dirs(temp_dir.string());
    fill(temp_dir);
    if (fs::exists(final_dir)) {
      if (!fs::is_directory(final_dir)) throw file_error(dir, kFileNotFolder);
      if (!fs::is_empty(final_dir)) throw file_error(dir, "output folder exists and is not empty");
      fs::remove(final_dir);
    }
    fs::rename(temp_dir, final_dir);
  } catch (...) {
    fs::remove_all(temp_dir, ignored);
    throw;
  }
}

std::string read_file(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw file_error(path, kFolderNotFile);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) throw file_error(path, "no such file");
    throw file_error(path, std::string("cannot read: ") + std::strerror(errno));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> stale;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!is_stale_temporary(it->path())) continue;
    stale.push_back(it->path());
    it.disable_recursion_pending();
  }
  for (const fs::path& entry : stale) remove_stale(entry);
}

void remove_stale_temporaries_of(const std::string& output) {
  const fs::path path = fs::absolute(output).lexically_normal();
  const std::string prefix = path.filename().string() + kTempMarker;
  std::error_code ec;
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(path.parent_path(), ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind(prefix, 0) == 0 && is_stale_temporary(it->path()))
      stale.push_back(it->path());
  for (const fs::path& entry : stale) remove_stale(entry);
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path) && !std::filesystem::is_directory(path))
    throw file_error(path, kFileNotFolder);
  std::filesystem::create_directories(path, ec);
  if (ec) throw file_error(path, "cannot create folder: " + ec.message());
}

}  // namespace gavamoe
