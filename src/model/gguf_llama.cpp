// Llama config and weights from a GGUF file (arch "llama").
//
// Q/K un-permutation, per head of D = head_dim rows (convert_hf_to_gguf.py LlamaModel.permute
// inverted): HF row t * D/2 + j is GGUF row 2 j + t (t in {0, 1}, j < D/2), i.e. a GGUF
// [n, D/2, 2, in] weight transposed to [n, 2, D/2, in]; n = head_count for attn_q and
// head_count_kv for attn_k.
#include "gavamoe/model/gguf_llama.hpp"

#include <torch/torch.h>

#include <set>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/model/memory_estimate.hpp"

namespace gavamoe {
namespace {

const std::string kArchitecture = "llama";

std::string architecture(const GgufFile& file) {
  return file.metadata().string("general.architecture", "");
}

void require_llama(const GgufFile& file) {
  const std::string arch = architecture(file);
  if (arch.empty()) throw file_error(file.path(), "no general.architecture in the metadata");
  if (arch != kArchitecture)
    throw file_error(file.path(), "architecture '" + arch +
                                      "' is not supported (only 'llama': Llama, Mistral, SmolLM)");
}

int64_t positive(const GgufFile& file, const std::string& key, int64_t value) {
  if (value <= 0)
    throw file_error(file.path(), key + " must be positive, got " + std::to_string(value));
  return value;
}

// "prefix.N.rest" -> {N, rest}, or N = -1 when `name` does not start with "prefix.".
std::pair<int64_t, std::string> split_layer(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return {-1, name};
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos) return {-1, name};
  return {std::stoll(name.substr(prefix.size(), dot - prefix.size())), name.substr(dot + 1)};
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

LlamaConfig gguf_llama_config(const GgufFile& file) {
  require_llama(file);
  const GgufMetadata& meta = file.metadata();
  const std::string p = kArchitecture + ".";
  LlamaConfig config;
  config.hidden_size = positive(file, p + "embedding_length", meta.integer(p + "embedding_length"));
  config.num_hidden_layers = positive(file, p + "block_count", meta.integer(p + "block_count"));
  config.intermediate_size =
      positive(file, p + "feed_forward_length", meta.integer(p + "feed_forward_length"));
  config.num_attention_heads =
      positive(file, p + "attention.head_count", meta.integer(p + "attention.head_count"));
  config.num_key_value_heads =
      positive(file, p + "attention.head_count_kv",
               meta.integer(p + "attention.head_count_kv", config.num_attention_heads));
  config.head_dim = positive(
      file, p + "attention.key_length",
      meta.integer(p + "attention.key_length", config.hidden_size / config.num_attention_heads));
  const int64_t value_length = meta.integer(p + "attention.value_length", config.head_dim);
  if (value_length != config.head_dim)
    throw file_error(file.path(), "attention.key_length " + std::to_string(config.head_dim) +
                                      " differs from value_length " + std::to_string(value_length) +
                                      " (not supported)");
  const int64_t rotary = meta.integer(p + "rope.dimension_count", config.head_dim);
  if (rotary != config.head_dim)
    throw file_error(file.path(), p + "rope.dimension_count " + std::to_string(rotary) +
                                      " is not the head size " + std::to_string(config.head_dim) +
                                      " (partial rotary embeddings are not supported)");
  config.max_position_embeddings =
      positive(file, p + "context_length", meta.integer(p + "context_length", 2048));
  config.rms_norm_eps = meta.number(p + "attention.layer_norm_rms_epsilon", 1e-5);
  config.rope_theta = meta.number(p + "rope.freq_base", 10000.0);
  if (config.rms_norm_eps <= 0 || config.rope_theta <= 0)
    throw file_error(file.path(), "rms epsilon and rope.freq_base must be positive");
  const std::string scaling = meta.string(p + "rope.scaling.type", "none");
  if (scaling != "none" || meta.number(p + "rope.scaling.factor", 1.0) != 1.0)
    throw file_error(file.path(), "rope scaling ('" + scaling + "', " + p +
                                      "rope.scaling.*) is not supported yet");
  if (file.find_tensor("rope_freqs.weight"))
    throw file_error(file.path(),
                     "Llama-3.1-style rope scaling (tensor 'rope_freqs.weight') is not supported "
                     "yet");
  if (meta.integer(p + "expert_count", 0) > 0)
    throw file_error(file.path(),
                     "mixture-of-experts GGUF files (" + p + "expert_count) are not supported");
  if (file.find_tensor("blk.0.attn_q.bias") || file.find_tensor("blk.0.attn_k.bias"))
    throw file_error(file.path(), "attention biases (blk.0.attn_q.bias) are not supported");
  if (config.num_attention_heads % config.num_key_value_heads != 0 || config.head_dim % 2 != 0)
    throw file_error(file.path(), "head counts " + std::to_string(config.num_attention_heads) +
                                      "/" + std::to_string(config.num_key_value_heads) +
                                      " and head size " + std::to_string(config.head_dim) +
                                      " are not a valid grouped-query attention");

  const GgufTensorInfo& embedding = file.tensor("token_embd.weight");
  if (embedding.shape.size() != 2 || embedding.shape[1] != config.hidden_size)
    throw file_error(file.path(), "tensor 'token_embd.weight' has shape " +
                                      c10::str(torch::IntArrayRef(embedding.shape)) +
                                      ", expected [vocabulary, " +
                                      std::to_string(config.hidden_size) + "]");
  config.vocab_size = embedding.shape[0];
  const int64_t declared = meta.integer(p + "vocab_size", config.vocab_size);
  if (declared != config.vocab_size)
    throw file_error(file.path(), p + "vocab_size " + std::to_string(declared) +
                                      " differs from token_embd.weight's " +
                                      std::to_string(config.vocab_size) + " rows");
  config.check_ranges(file.path(), {{"vocab_size", "token_embd.weight rows"},
                                    {"hidden_size", p + "embedding_length"},
                                    {"intermediate_size", p + "feed_forward_length"},
                                    {"num_hidden_layers", p + "block_count"},
                                    {"num_attention_heads", p + "attention.head_count"},
                                    {"num_key_value_heads", p + "attention.head_count_kv"},
                                    {"head_dim", p + "attention.key_length"},
                                    {"max_position_embeddings", p + "context_length"}});
  config.tie_word_embeddings = file.find_tensor("output.weight") == nullptr;
  const int64_t bos = meta.integer("tokenizer.ggml.bos_token_id", -1);
  const int64_t eos = meta.integer("tokenizer.ggml.eos_token_id", -1);
  config.bos_token_id = bos >= 0 && bos < config.vocab_size ? static_cast<int>(bos) : -1;
  config.eos_token_ids.clear();
  if (eos >= 0 && eos < config.vocab_size) config.eos_token_ids.push_back(static_cast<int>(eos));
  return config;
}

std::string gguf_tensor_name(const std::string& parameter_name) {
  static const std::map<std::string, std::string> kTop = {
      {"embed_tokens.weight", "token_embd.weight"},
      {"norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"}};
  static const std::map<std::string, std::string> kLayer = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  if (const auto it = kTop.find(parameter_name); it != kTop.end()) return it->second;
  const auto [layer, rest] = split_layer(parameter_name, "layers.");
  if (layer >= 0)
    if (const auto it = kLayer.find(rest); it != kLayer.end())
      return "blk." + std::to_string(layer) + "." + it->second;
  throw Error("no GGUF tensor corresponds to parameter '" + parameter_name + "'");
}

void load_gguf_weights(Llama& model, const GgufFile& file) {
  torch::NoGradGuard no_grad;
  const LlamaConfig& config = model->config;
  std::set<std::string> used;
  for (auto& item : model->named_parameters()) {
    const std::string name = gguf_tensor_name(item.key());
    used.insert(name);
    torch::Tensor destination = item.value();
    const bool query = ends_with(name, ".attn_q.weight");
    const bool key = ends_with(name, ".attn_k.weight");
    if (!query && !key) {
      file.load_into(name, destination);
      continue;
    }
    const int64_t heads = query ? config.num_attention_heads : config.num_key_value_heads;
    const int64_t half = config.head_dim / 2;
    const int64_t in = config.hidden_size;
    if (destination.sizes() != torch::IntArrayRef({heads * config.head_dim, in}))
      throw file_error(file.path(), "tensor '" + name + "' does not fit the model");
    const torch::Tensor gguf_rows = file.load(name);
    destination.view({heads, 2, half, in})
        .copy_(gguf_rows.view({heads, half, 2, in}).transpose(1, 2));
  }
  size_t unused = 0;
  for (const GgufTensorInfo& info : file.tensors())
    if (!used.count(info.name)) ++unused;
  if (unused > 0)
    log::warn("%s: %zu tensors are not used by the model", file.path().c_str(), unused);
}

Llama load_gguf_llama(const GgufFile& file, torch::Dtype dtype, torch::Device device) {
  const LlamaConfig config = gguf_llama_config(file);
  MemoryEstimate need;
  need.weights = llama_weight_bytes(config, dtype);
  require_memory(file.path() + ": the model", need, device);
  Llama model = make_llama(config, dtype, device);
  load_gguf_weights(model, file);
  model->eval();
  return model;
}

}  // namespace gavamoe
