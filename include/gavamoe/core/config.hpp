// RunConfig: the settings of one run, as JSON with a fixed schema.
//
// The schema is the default configuration (run_config_defaults): every key a run config may
// hold, with its type. A run config file (configs/<dataset>-<size>.json) and --set overrides
// change values; unknown keys and wrong types are errors that name the key. The effective
// config is written next to every output, so a run can be repeated exactly. Values the type
// allows but that mean nothing (train.lr 0, a batch size of 0, an unknown device) are refused
// as they are set (config_ranges.cpp), so a run fails before it writes anything.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gavamoe {

// Sections "data", "vae", "train", "infer", "rec": every key, with its default value.
const nlohmann::json& run_config_defaults();

// Throws an Error starting with `origin` when `value` is outside the range or the names of the
// dotted `key` (each entry of a list); keys without a rule pass.
void check_config_value(const std::string& key, const nlohmann::json& value,
                        const std::string& origin);
// The rules between keys of a whole config (RunConfig::check).
void check_config(const nlohmann::json& values, const std::string& origin);

class RunConfig {
 public:
  RunConfig();

  // Merges a JSON file over the current values; errors name the file and the key.
  void merge_file(const std::string& path);
  // Applies one "section.key=value" override; the value is read as JSON when it parses,
  // else as a string ("--set train.lr=3e-4", "--set train.gating=soft").
  void set(const std::string& assignment);
  void set_all(const std::vector<std::string>& assignments);

  const nlohmann::json& values() const { return values_; }
  const nlohmann::json& at(const std::string& dotted_key) const;
  template <typename T>
  T get(const std::string& dotted_key) const {
    return at(dotted_key).get<T>();
  }

  // The rules between keys (vae.embedding_dim a multiple of vae.encoder_heads, train.top_k at
  // most train.n_experts, ...), for a command to call once every value is set; errors start
  // with `origin`.
  void check(const std::string& origin) const;

  // Pretty JSON, written atomically.
  void write(const std::string& path) const;

 private:
  void merge(const nlohmann::json& update, const std::string& origin);
  nlohmann::json values_;
};

}  // namespace gavamoe
