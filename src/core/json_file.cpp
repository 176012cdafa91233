// Reading JSON files (json_file.hpp).
#include "gavamoe/core/json_file.hpp"

#include "gavamoe/core/atomic_file.hpp"

namespace gavamoe {

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw file_error(path, "byte " + std::to_string(e.byte), "invalid JSON");
  } catch (const nlohmann::json::exception&) {  // a number too large for a double
    throw file_error(path, "invalid JSON (a number is out of range)");
  }
}

}  // namespace gavamoe
