// Reading a model folder's tokenizer settings (hf_tokenizer_config.hpp).
#include "gavamoe/text/hf_tokenizer_config.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"

namespace gavamoe {
namespace {

std::optional<std::string> token_text(const nlohmann::json& config, const char* key,
                                      const std::string& path) {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  const nlohmann::json& value = config[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  throw file_error(path, std::string("\"") + key + "\" is neither a string nor {\"content\": ...}");
}

std::string chat_template_of(const nlohmann::json& value, const std::string& path) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string first;
    for (const auto& entry : value) {
      if (!entry.is_object() || !entry.contains("template") || !entry["template"].is_string())
        throw file_error(path, "\"chat_template\" list entries need a \"template\" string");
      const std::string text = entry["template"].get<std::string>();
      if (entry.contains("name") && entry["name"].is_string() &&
          entry["name"].get<std::string>() == "default")
        return text;
      if (first.empty()) first = text;
    }
    return first;
  }
  throw file_error(path, "\"chat_template\" is neither a string nor a list");
}

// `value` as an id; an integer outside int's range is an error (get<int> would wrap it).
int id_of(const nlohmann::json& value, const char* key, const std::string& path) {
  const bool fits = value.is_number_unsigned()
                        ? value.get<uint64_t>() <= uint64_t{std::numeric_limits<int>::max()}
                        : value.get<int64_t>() >= std::numeric_limits<int>::min() &&
                              value.get<int64_t>() <= std::numeric_limits<int>::max();
  if (!fits) throw file_error(path, std::string("\"") + key + "\" holds an id out of range");
  return static_cast<int>(value.get<int64_t>());
}

// An integer or a list of integers (eos_token_id may be either).
std::vector<int> ids_of(const nlohmann::json& config, const char* key, const std::string& path) {
  std::vector<int> ids;
  if (!config.contains(key) || config[key].is_null()) return ids;
  const nlohmann::json& value = config[key];
  if (value.is_number_integer()) return {id_of(value, key, path)};
  if (value.is_array()) {
    for (const auto& id : value) {
      if (!id.is_number_integer())
        throw file_error(path, std::string("\"") + key + "\" lists a non-integer");
      ids.push_back(id_of(id, key, path));
    }
    return ids;
  }
  throw file_error(path, std::string("\"") + key + "\" is neither an integer nor a list");
}

std::optional<nlohmann::json> json_if_exists(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) return std::nullopt;
  nlohmann::json j = read_json_file(path);
  if (!j.is_object()) throw file_error(path, "not a JSON object");
  return j;
}

}  // namespace

HfTokenizerConfig read_hf_tokenizer_config(const std::string& dir) {
  HfTokenizerConfig config;
  const std::string tokenizer_path = dir + "/tokenizer_config.json";
  if (const auto j = json_if_exists(tokenizer_path)) {
    config.bos_token = token_text(*j, "bos_token", tokenizer_path);
    config.eos_token = token_text(*j, "eos_token", tokenizer_path);
    config.pad_token = token_text(*j, "pad_token", tokenizer_path);
    if (j->contains("add_bos_token") && !(*j)["add_bos_token"].is_null()) {
      if (!(*j)["add_bos_token"].is_boolean())
        throw file_error(tokenizer_path, "\"add_bos_token\" is not true or false");
      config.add_bos_token = (*j)["add_bos_token"].get<bool>();
    }
    if (j->contains("chat_template"))
      config.chat_template = chat_template_of((*j)["chat_template"], tokenizer_path);
  }
  const std::string jinja_path = dir + "/chat_template.jinja";
  if (config.chat_template.empty() && std::filesystem::is_regular_file(jinja_path))
    config.chat_template = read_file(jinja_path);

  for (const char* name : {"config.json", "generation_config.json"}) {
    const std::string path = dir + "/" + name;
    const auto j = json_if_exists(path);
    if (!j) continue;
    const std::vector<int> bos = ids_of(*j, "bos_token_id", path);
    if (!bos.empty() && !config.bos_token_id) config.bos_token_id = bos.front();
    const std::vector<int> pad = ids_of(*j, "pad_token_id", path);
    if (!pad.empty() && !config.pad_token_id) config.pad_token_id = pad.front();
    for (int id : ids_of(*j, "eos_token_id", path))
      if (std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), id) ==
          config.eos_token_ids.end())
        config.eos_token_ids.push_back(id);
  }
  return config;
}

}  // namespace gavamoe
