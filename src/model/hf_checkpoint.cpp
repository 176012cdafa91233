// Loading and saving Llama weights in the Hugging Face folder layout.
#include "gavamoe/model/hf_checkpoint.hpp"

#include <filesystem>
#include <memory>
#include <set>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/model/memory_estimate.hpp"
#include "gavamoe/model/safetensors.hpp"

namespace gavamoe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The checkpoint's shards and, for every tensor name, the shard that holds it.
struct Shards {
  std::string listing;  // model.safetensors or the index: what errors about names point at
  std::map<std::string, std::unique_ptr<SafetensorsReader>> readers;  // by file name
  std::map<std::string, SafetensorsReader*> by_tensor;
};

Shards open_shards(const std::string& dir) {
  Shards shards;
  const std::string single = dir + "/model.safetensors";
  const std::string index_path = dir + "/model.safetensors.index.json";
  std::map<std::string, std::string> file_of_tensor;
  if (fs::exists(single)) {
    shards.listing = single;
    shards.readers["model.safetensors"] = std::make_unique<SafetensorsReader>(single);
    for (const std::string& name : shards.readers.begin()->second->names())
      file_of_tensor[name] = "model.safetensors";
  } else if (fs::exists(index_path)) {
    shards.listing = index_path;
    json index;
    try {
      index = json::parse(read_file(index_path));
    } catch (const json::exception& e) {
      throw file_error(index_path, std::string("invalid JSON: ") + e.what());
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      throw file_error(index_path, "missing \"weight_map\" object");
    for (const auto& [tensor, file] : index["weight_map"].items()) {
      if (!file.is_string())
        throw file_error(index_path, "weight_map entry of '" + tensor + "' is not a file name");
      const std::string name = file.get<std::string>();
      if (name.find('/') != std::string::npos || name == "..")
        throw file_error(index_path, "shard name '" + name + "' must be a plain file name");
      file_of_tensor[tensor] = name;
    }
    for (const auto& [tensor, file] : file_of_tensor) {
      if (shards.readers.count(file)) continue;
      if (!fs::is_regular_file(dir + "/" + file))
        throw file_error(dir + "/" + file, "shard missing (model.safetensors.index.json lists '" +
                                               tensor + "' in it)");
      shards.readers[file] = std::make_unique<SafetensorsReader>(dir + "/" + file);
    }
  } else {
    throw file_error(dir, "no model.safetensors or model.safetensors.index.json");
  }
  for (const auto& [tensor, file] : file_of_tensor) {
    SafetensorsReader* reader = shards.readers.at(file).get();
    if (!reader->contains(tensor))
      throw file_error(reader->path(), "tensor '" + tensor +
                                           "' is missing (model.safetensors.index.json lists it "
                                           "in this shard)");
    shards.by_tensor[tensor] = reader;
  }
  return shards;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text;
  for (int64_t size : shape) text += (text.empty() ? "" : ", ") + std::to_string(size);
  return "[" + text + "]";
}

// Every tensor the config implies is in the checkpoint with the config's shape, so that a
// config that does not describe the weights fails before the model is built.
void check_shapes(const LlamaConfig& config, const Shards& shards, const std::string& config_path) {
  for (const auto& [name, shape] : llama_tensor_shapes(config)) {
    const auto it = shards.by_tensor.find(name);
    if (it == shards.by_tensor.end())
      throw file_error(shards.listing, "no tensor '" + name + "' (the model needs it)");
    const std::vector<int64_t>& stored = it->second->entry(name).shape;
    if (stored != shape)
      throw file_error(it->second->path(), "tensor '" + name + "' has shape " + shape_text(stored) +
                                               " but " + config_path + " implies " +
                                               shape_text(shape));
  }
}

void load_weights(Llama& model, const Shards& shards, const std::string& dir) {
  std::set<std::string> used;
  for (auto& item : model->named_parameters()) {
    const std::string hf_name = hf_tensor_name(item.key());
    const auto it = shards.by_tensor.find(hf_name);
    if (it == shards.by_tensor.end())
      throw file_error(shards.listing, "no tensor '" + hf_name + "' (the model needs it)");
    it->second->load_into(hf_name, item.value());
    used.insert(hf_name);
  }
  size_t unused = 0;
  for (const auto& [name, reader] : shards.by_tensor)
    if (!used.count(name) && name != "lm_head.weight") ++unused;  // tied heads may be stored
  if (unused > 0)
    log::warn("%s: %zu checkpoint tensors are not used by the model", dir.c_str(), unused);
}

// Makes new floating-point tensors default to `dtype` while alive (module construction).
class DefaultDtypeGuard {
 public:
  explicit DefaultDtypeGuard(torch::Dtype dtype) : saved_(torch::get_default_dtype()) {
    torch::set_default_dtype(caffe2::scalarTypeToTypeMeta(dtype));
  }
  ~DefaultDtypeGuard() { torch::set_default_dtype(saved_); }

 private:
  caffe2::TypeMeta saved_;
};

}  // namespace

std::string hf_tensor_name(const std::string& parameter_name) {
  return parameter_name.rfind("lm_head.", 0) == 0 ? parameter_name : "model." + parameter_name;
}

std::map<std::string, std::vector<int64_t>> llama_tensor_shapes(const LlamaConfig& config) {
  const int64_t c = config.hidden_size, i = config.intermediate_size;
  const int64_t q = config.num_attention_heads * config.head_dim;
  const int64_t kv = config.num_key_value_heads * config.head_dim;
  std::map<std::string, std::vector<int64_t>> shapes = {
      {"model.embed_tokens.weight", {config.vocab_size, c}}, {"model.norm.weight", {c}}};
  if (!config.tie_word_embeddings) shapes["lm_head.weight"] = {config.vocab_size, c};
  for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    const std::string prefix = "model.layers." + std::to_string(layer) + ".";
    shapes[prefix + "input_layernorm.weight"] = {c};
    shapes[prefix + "post_attention_layernorm.weight"] = {c};
    shapes[prefix + "self_attn.q_proj.weight"] = {q, c};
    shapes[prefix + "self_attn.k_proj.weight"] = {kv, c};
    shapes[prefix + "self_attn.v_proj.weight"] = {kv, c};
    shapes[prefix + "self_attn.o_proj.weight"] = {c, q};
    shapes[prefix + "mlp.gate_proj.weight"] = {i, c};
    shapes[prefix + "mlp.up_proj.weight"] = {i, c};
    shapes[prefix + "mlp.down_proj.weight"] = {c, i};
  }
  return shapes;
}

void load_hf_weights(Llama& model, const std::string& dir) {
  load_weights(model, open_shards(dir), dir);
}

Llama make_llama(const LlamaConfig& config, torch::Dtype dtype, torch::Device device) {
  Llama model = [&] {
    DefaultDtypeGuard guard(dtype);
    return Llama(config);
  }();
  model->to(device);
  return model;
}

Llama load_llama(const std::string& dir, torch::Dtype dtype, torch::Device device) {
  const std::string config_path = dir + "/config.json";
  const LlamaConfig config = LlamaConfig::load(config_path);
  const Shards shards = open_shards(dir);
  check_shapes(config, shards, config_path);
  MemoryEstimate need;
  need.weights = llama_weight_bytes(config, dtype);
  require_memory(dir + ": the model", need, device);
  Llama model = make_llama(config, dtype, device);
  load_weights(model, shards, dir);
  model->eval();
  return model;
}

void save_hf_checkpoint(const Llama& model, const std::string& dir) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : model->named_parameters())
    tensors[hf_tensor_name(item.key())] = item.value();
  save_hf_checkpoint(model->config, model->embed_tokens->weight.scalar_type(), tensors, dir);
}

void save_hf_checkpoint(const LlamaConfig& model_config, torch::Dtype dtype,
                        const std::map<std::string, torch::Tensor>& tensors,
                        const std::string& dir) {
  make_dirs(dir);
  json config = model_config.to_json();
  config["torch_dtype"] =
      dtype == torch::kBFloat16 ? "bfloat16" : (dtype == torch::kHalf ? "float16" : "float32");
  write_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  write_file_atomic(dir + "/config.json", config.dump(2) + "\n");
}

}  // namespace gavamoe
