// Hugging Face checkpoint folders for Llama: config.json plus model.safetensors, or shards
// listed in model.safetensors.index.json. Tensors are found by their HF names
// ("model.layers.0.self_attn.q_proj.weight", "lm_head.weight") and copied straight from the
// memory-mapped file into the module's parameters (converted to the model's dtype), so a model
// never sits in memory twice.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "gavamoe/model/llama.hpp"

namespace gavamoe {

// HF name of a parameter of LlamaImpl ("layers.0.mlp.up_proj.weight" -> "model.layers...").
std::string hf_tensor_name(const std::string& parameter_name);

// The HF name and shape of every tensor a Llama of `config` loads (lm_head.weight unless tied).
std::map<std::string, std::vector<int64_t>> llama_tensor_shapes(const LlamaConfig& config);

// A model of `config` built directly in `dtype` on `device` (weights as constructed).
Llama make_llama(const LlamaConfig& config, torch::Dtype dtype = torch::kFloat32,
                 torch::Device device = torch::kCPU);
// Builds the model of `dir`/config.json directly in `dtype` on `device` and loads its weights.
// Before anything is allocated, every tensor the config implies must be in the checkpoint with
// the config's shape (else an error naming the tensor and its file) and the weights must fit
// in the device's memory (memory_estimate.hpp).
Llama load_llama(const std::string& dir, torch::Dtype dtype = torch::kFloat32,
                 torch::Device device = torch::kCPU);
// Loads every parameter of `model` from the checkpoint in `dir`.
void load_hf_weights(Llama& model, const std::string& dir);
// Writes config.json and model.safetensors (HF names, the model's dtype) into `dir`.
void save_hf_checkpoint(const Llama& model, const std::string& dir);
// The same from tensors already under their HF names (e.g. with adapters merged); `dtype` is
// the config's torch_dtype.
void save_hf_checkpoint(const LlamaConfig& config, torch::Dtype dtype,
                        const std::map<std::string, torch::Tensor>& tensors,
                        const std::string& dir);

}  // namespace gavamoe
