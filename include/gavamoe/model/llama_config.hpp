// LlamaConfig: the architecture of a Llama decoder, read from and written to a Hugging Face
// `config.json` (LlamaConfig schema). Unknown keys are ignored; keys HF gives defaults to get
// the same defaults here; a missing required key or a feature this decoder does not implement
// (biases, rope scaling, another activation) is a gavamoe::Error naming the file and the key.
// Sizes are checked against generous bounds before anything is allocated (check_ranges).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gavamoe {

struct LlamaConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // default: num_attention_heads (plain multi-head attention)
  int64_t head_dim = 0;             // default: hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  double initializer_range = 0.02;
  bool tie_word_embeddings = false;
  int bos_token_id = 1;            // -1: none
  std::vector<int> eos_token_ids;  // HF allows an int or a list; default {2}

  // Upper bounds of check_ranges: several times the largest published Llama-family models, so
  // that only a broken or hostile config reaches them (a huge size would otherwise allocate
  // for minutes or fail deep in LibTorch).
  static constexpr int64_t kMaxVocabulary = int64_t{1} << 24;
  static constexpr int64_t kMaxHidden = int64_t{1} << 17;
  static constexpr int64_t kMaxIntermediate = int64_t{1} << 20;
  static constexpr int64_t kMaxLayers = 1024;
  static constexpr int64_t kMaxHeads = 4096;
  static constexpr int64_t kMaxHeadDim = 4096;
  static constexpr int64_t kMaxPositions = int64_t{1} << 24;

  static LlamaConfig from_json(const nlohmann::json& json, const std::string& path);
  static LlamaConfig load(const std::string& path);
  // HF config.json content ("architectures": ["LlamaForCausalLM"], "model_type": "llama").
  nlohmann::json to_json() const;
  int64_t num_parameters() const;
  // Every size positive and within the bounds above, the KV heads dividing the heads and the
  // head size even; a gavamoe::Error naming `path` and the key otherwise. `key_names` renames
  // fields for sources with other key names (GGUF: "hidden_size" -> "llama.embedding_length").
  void check_ranges(const std::string& path,
                    const std::map<std::string, std::string>& key_names = {}) const;
};

}  // namespace gavamoe
