// Outputs appear whole or not at all: write to "<path>.tmp-<pid>", then rename.
#pragma once

#include <fstream>
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
std::string read_file(const std::string& path);
// Creates the folder and its parents; an error names the folder.
void make_dirs(const std::string& path);

}  // namespace gavamoe
