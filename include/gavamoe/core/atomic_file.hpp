// Outputs appear whole or not at all: write to "<path>.tmp-<pid>", then rename.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace gavamoe {

// An output file under construction. commit() renames it into place; destroying an
// uncommitted AtomicFile removes the temporary, so a failed command leaves no partial file.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path, bool binary = false);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ofstream& stream() { return out_; }
  const std::string& temp_path() const { return temp_path_; }
  void commit();

 private:
  std::string path_;
  std::string temp_path_;
  std::ofstream out_;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, const std::string& content);
// A whole output folder: `fill` writes its files into a temporary folder next to `dir`, which
// is then renamed to `dir`. An existing `dir` must be an empty folder; on any error nothing is
// left behind.
void write_folder_atomic(const std::string& dir,
                         const std::function<void(const std::filesystem::path& temp_dir)>& fill);
std::string read_file(const std::string& path);
// The leftovers of writers that were killed: entries "<name>.tmp-<pid>" whose process is gone,
// removed (files and folders) and logged. A command calls this where it starts writing: on its
// run folder (its subfolders too; symlinks are not followed, so a linked VAE run is left alone),
// and with remove_stale_temporaries_of on one output file or folder (its siblings
// "<output>.tmp-<pid>"). A temporary of a live process (another run writing there) is kept.
void remove_stale_temporaries(const std::string& dir);
void remove_stale_temporaries_of(const std::string& output);
// Creates the folder and its parents; an error names the folder.
void make_dirs(const std::string& path);

}  // namespace gavamoe
