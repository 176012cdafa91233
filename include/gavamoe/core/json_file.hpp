// Reading JSON files and keys with errors that name the file and the key.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "gavamoe/core/error.hpp"

namespace gavamoe {

// The parsed file; a missing file or invalid JSON is an Error naming the file (and the byte).
nlohmann::json read_json_file(const std::string& path);

// j[key] as T; a missing key or a value of another type is an Error naming `origin` and the key.
template <typename T>
T json_value(const nlohmann::json& j, const std::string& key, const std::string& origin) {
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(origin + ": missing or invalid key '" + key + "'");
  }
}

}  // namespace gavamoe
