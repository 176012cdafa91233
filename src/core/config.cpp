// RunConfig: defaults as schema, file merge, --set overrides, type checks.
#include "gavamoe/core/config.hpp"

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

std::string type_name(const json& value) {
  if (value.is_boolean()) return "a boolean";
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "a list";
  if (value.is_object()) return "an object";
  return "null";
}

// Keys whose default is a word that a number may replace (vae.reconstruction_scale: "2E" or R).
bool takes_word_or_number(const std::string& name) { return name == "vae.reconstruction_scale"; }

// Integers are accepted where a float is expected; a null default means "string or null".
bool same_type(const json& expected, const json& given) {
  if (expected.is_null()) return given.is_null() || given.is_string();
  if (expected.is_number_float()) return given.is_number();
  if (expected.is_number_integer()) return given.is_number_integer();
  if (expected.is_boolean()) return given.is_boolean();
  if (expected.is_string()) return given.is_string();
  if (expected.is_array()) return given.is_array();
  if (expected.is_object()) return given.is_object();
  return false;
}

std::vector<std::string> split_dotted(const std::string& dotted) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    parts.push_back(dotted.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

}  // namespace

RunConfig::RunConfig() : values_(run_config_defaults()) {}

void RunConfig::merge(const json& update, const std::string& origin) {
  if (!update.is_object()) throw Error(origin + ": a run config must be a JSON object");
  for (const auto& [section, section_values] : update.items()) {
    if (section == "description") {
      if (!section_values.is_string()) throw Error(origin + ": 'description' must be a string");
      continue;
    }
    if (!values_.contains(section))
      throw Error(origin + ": unknown config section '" + section + "'");
    if (!section_values.is_object())
      throw Error(origin + ": config section '" + section + "' must be an object");
    json& target = values_[section];
    for (const auto& [key, value] : section_values.items()) {
      const std::string name = section + "." + key;
      if (!target.contains(key)) throw Error(origin + ": unknown config key '" + name + "'");
      const json& expected = run_config_defaults()[section][key];
      if (!same_type(expected, value) && !(takes_word_or_number(name) && value.is_number()))
        throw Error(origin + ": config key '" + name + "' must be " + type_name(expected) +
                    ", got " + type_name(value));
      check_config_value(name, value, origin);
      target[key] = value;
    }
  }
}

void RunConfig::merge_file(const std::string& path) {
  json parsed;
  try {
    parsed = json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    throw file_error(path, "byte " + std::to_string(e.byte), "invalid JSON");
  } catch (const json::exception&) {  // a number too large for a double
    throw file_error(path, "invalid JSON (a number is out of range)");
  }
  merge(parsed, path);
}

void RunConfig::set(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  const std::string origin = "--set " + assignment;
  if (eq == std::string::npos || eq == 0) throw Error(origin + ": expected section.key=value");
  const std::vector<std::string> path = split_dotted(assignment.substr(0, eq));
  if (path.size() != 2) throw Error(origin + ": expected section.key=value");
  const std::string text = assignment.substr(eq + 1);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;
  merge(json{{path[0], json{{path[1], value}}}}, origin);
}

void RunConfig::set_all(const std::vector<std::string>& assignments) {
  for (const auto& assignment : assignments) set(assignment);
}

const json& RunConfig::at(const std::string& dotted_key) const {
  const json* node = &values_;
  for (const auto& part : split_dotted(dotted_key)) {
    if (!node->is_object() || !node->contains(part))
      throw Error("config: no key '" + dotted_key + "'");
    node = &(*node)[part];
  }
  return *node;
}

void RunConfig::check(const std::string& origin) const { check_config(values_, origin); }

void RunConfig::write(const std::string& path) const {
  write_file_atomic(path, values_.dump(2) + "\n");
}

}  // namespace gavamoe
