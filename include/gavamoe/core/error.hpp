// Error: the one exception type of the project.
//
// Every failure a user can cause (missing file, corrupt input, bad config key, unknown id)
// is thrown as gavamoe::Error with a message that names the file, the position and what is
// wrong. The CLI prints it as one line and exits with code 2.
#pragma once

#include <stdexcept>
#include <string>

namespace gavamoe {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// What a file_error says when a path is the wrong kind.
constexpr const char* kFolderNotFile = "is a folder; a file is expected here";
constexpr const char* kFileNotFolder = "is a file; a folder is expected here";

// "path: what" or "path:position: what" (position may be "line 12", "byte 40", ...).
inline Error file_error(const std::string& path, const std::string& what) {
  return Error(path + ": " + what);
}
inline Error file_error(const std::string& path, const std::string& position,
                        const std::string& what) {
  return Error(path + ":" + position + ": " + what);
}

}  // namespace gavamoe
