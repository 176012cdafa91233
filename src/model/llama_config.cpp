// LlamaConfig from and to a Hugging Face config.json.
#include "gavamoe/model/llama_config.hpp"

#include <optional>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

int64_t positive_integer(const json& object, const std::string& key, const std::string& path,
                         std::optional<int64_t> fallback) {
  if (!object.contains(key) || object.at(key).is_null()) {
    if (fallback) return *fallback;
    throw file_error(path, "missing required key \"" + key + "\"");
  }
  const json& value = object.at(key);
  if (!value.is_number_integer() || value.get<int64_t>() <= 0)
    throw file_error(path, "\"" + key + "\" must be a positive integer, got " + value.dump());
  return value.get<int64_t>();
}

double positive_number(const json& object, const std::string& key, const std::string& path,
                       double fallback) {
  if (!object.contains(key) || object.at(key).is_null()) return fallback;
  const json& value = object.at(key);
  if (!value.is_number() || value.get<double>() <= 0)
    throw file_error(path, "\"" + key + "\" must be a positive number, got " + value.dump());
  return value.get<double>();
}

// A token id: an integer, null (no such token) or, for eos, a list of integers.
std::vector<int> token_ids(const json& object, const std::string& key, const std::string& path,
                           int fallback) {
  if (!object.contains(key)) return {fallback};
  const json& value = object.at(key);
  if (value.is_null()) return {};
  std::vector<int> ids;
  for (const json& id : value.is_array() ? value : json::array({value})) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0)
      throw file_error(path,
                       "\"" + key + "\" must be a token id or a list of them, got " + value.dump());
    ids.push_back(id.get<int>());
  }
  return ids;
}

void require_absent_or(const json& object, const std::string& key, const json& allowed,
                       const std::string& path) {
  if (object.contains(key) && !object.at(key).is_null() && object.at(key) != allowed)
    throw file_error(path, "\"" + key + "\": " + object.at(key).dump() +
                               " is not supported (only " + allowed.dump() + ")");
}

}  // namespace

LlamaConfig LlamaConfig::from_json(const json& object, const std::string& path) {
  if (!object.is_object()) throw file_error(path, "config is not a JSON object");
  LlamaConfig config;
  config.vocab_size = positive_integer(object, "vocab_size", path, std::nullopt);
  config.hidden_size = positive_integer(object, "hidden_size", path, std::nullopt);
  config.intermediate_size = positive_integer(object, "intermediate_size", path, std::nullopt);
  config.num_hidden_layers = positive_integer(object, "num_hidden_layers", path, std::nullopt);
  config.num_attention_heads = positive_integer(object, "num_attention_heads", path, std::nullopt);
  config.num_key_value_heads =
      positive_integer(object, "num_key_value_heads", path, config.num_attention_heads);
  config.head_dim =
      positive_integer(object, "head_dim", path, config.hidden_size / config.num_attention_heads);
  config.max_position_embeddings = positive_integer(object, "max_position_embeddings", path, 2048);
  config.rms_norm_eps = positive_number(object, "rms_norm_eps", path, 1e-6);
  config.initializer_range = positive_number(object, "initializer_range", path, 0.02);
  // Newer HF versions keep rope_theta inside "rope_parameters".
  const json* rope = &object;
  if (object.contains("rope_parameters") && object.at("rope_parameters").is_object()) {
    rope = &object.at("rope_parameters");
    require_absent_or(*rope, "rope_type", "default", path);
  }
  config.rope_theta = positive_number(*rope, "rope_theta", path,
                                      positive_number(object, "rope_theta", path, 10000.0));
  if (object.contains("tie_word_embeddings")) {
    if (!object.at("tie_word_embeddings").is_boolean())
      throw file_error(path, "\"tie_word_embeddings\" must be true or false");
    config.tie_word_embeddings = object.at("tie_word_embeddings").get<bool>();
  }
  const std::vector<int> bos = token_ids(object, "bos_token_id", path, 1);
  if (bos.size() > 1) throw file_error(path, "\"bos_token_id\" must be one token id");
  config.bos_token_id = bos.empty() ? -1 : bos[0];
  config.eos_token_ids = token_ids(object, "eos_token_id", path, 2);

  require_absent_or(object, "hidden_act", "silu", path);
  require_absent_or(object, "attention_bias", false, path);
  require_absent_or(object, "mlp_bias", false, path);
  require_absent_or(object, "rope_scaling", nullptr, path);
  // Without head_dim the head size is hidden_size / num_attention_heads, which must be exact.
  const bool explicit_head_dim = object.contains("head_dim") && !object.at("head_dim").is_null();
  if (!explicit_head_dim && config.hidden_size % config.num_attention_heads != 0)
    throw file_error(path, "hidden_size (" + std::to_string(config.hidden_size) +
                               ") is not a multiple of num_attention_heads (" +
                               std::to_string(config.num_attention_heads) + ")");
  config.check_ranges(path);
  return config;
}

LlamaConfig LlamaConfig::load(const std::string& path) {
  json object;
  try {
    object = json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw file_error(path, std::string("invalid JSON: ") + e.what());
  }
  return from_json(object, path);
}

json LlamaConfig::to_json() const {
  json eos = eos_token_ids.size() == 1 ? json(eos_token_ids[0]) : json(eos_token_ids);
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", vocab_size},
          {"hidden_size", hidden_size},
          {"intermediate_size", intermediate_size},
          {"num_hidden_layers", num_hidden_layers},
          {"num_attention_heads", num_attention_heads},
          {"num_key_value_heads", num_key_value_heads},
          {"head_dim", head_dim},
          {"max_position_embeddings", max_position_embeddings},
          {"rms_norm_eps", rms_norm_eps},
          {"rope_theta", rope_theta},
          {"initializer_range", initializer_range},
          {"hidden_act", "silu"},
          {"attention_bias", false},
          {"mlp_bias", false},
          {"tie_word_embeddings", tie_word_embeddings},
          {"bos_token_id", bos_token_id < 0 ? json(nullptr) : json(bos_token_id)},
          {"eos_token_id", eos_token_ids.empty() ? json(nullptr) : eos},
          {"torch_dtype", "float32"}};
}

void LlamaConfig::check_ranges(const std::string& path,
                               const std::map<std::string, std::string>& key_names) const {
  auto key = [&](const std::string& field) {
    const auto it = key_names.find(field);
    return it == key_names.end() ? field : it->second;
  };
  const std::pair<const char*, std::pair<int64_t, int64_t>> sizes[] = {
      {"vocab_size", {vocab_size, kMaxVocabulary}},
      {"hidden_size", {hidden_size, kMaxHidden}},
      {"intermediate_size", {intermediate_size, kMaxIntermediate}},
      {"num_hidden_layers", {num_hidden_layers, kMaxLayers}},
      {"num_attention_heads", {num_attention_heads, kMaxHeads}},
      {"num_key_value_heads", {num_key_value_heads, kMaxHeads}},
      {"head_dim", {head_dim, kMaxHeadDim}},
      {"max_position_embeddings", {max_position_embeddings, kMaxPositions}}};
  for (const auto& [field, value_and_bound] : sizes) {
    const auto [value, bound] = value_and_bound;
    if (value < 1 || value > bound)
      throw file_error(path, "\"" + key(field) + "\" is " + std::to_string(value) +
                                 ", outside 1.." + std::to_string(bound));
  }
  if (num_attention_heads % num_key_value_heads != 0)
    throw file_error(path, "\"" + key("num_attention_heads") + "\" (" +
                               std::to_string(num_attention_heads) + ") is not a multiple of \"" +
                               key("num_key_value_heads") + "\" (" +
                               std::to_string(num_key_value_heads) + ")");
  if (head_dim % 2 != 0)
    throw file_error(path, "\"" + key("head_dim") + "\" (" + std::to_string(head_dim) +
                               ") must be even for rotary embeddings");
}

int64_t LlamaConfig::num_parameters() const {
  const int64_t attention =
      hidden_size * head_dim * (2 * num_attention_heads + 2 * num_key_value_heads);
  const int64_t mlp = 3 * hidden_size * intermediate_size;
  const int64_t layer = attention + mlp + 2 * hidden_size;
  const int64_t embeddings = vocab_size * hidden_size * (tie_word_embeddings ? 1 : 2);
  return embeddings + num_hidden_layers * layer + hidden_size;
}

}  // namespace gavamoe
