// A Llama and its tokenizer from a GGUF file (general.architecture "llama": Llama 1-3, Mistral,
// SmolLM/SmolLM2 and other files that use llama.cpp's llama graph).
//
// Config: llama.* keys (embedding_length, block_count, feed_forward_length, attention.head_count
// [_kv], attention.layer_norm_rms_epsilon, rope.freq_base, context_length), range-checked as
// LlamaConfig::check_ranges does, the error naming the GGUF key. Weights: GGUF names
// mapped to the HF layout (token_embd -> embed_tokens, blk.N.attn_q -> layers.N.self_attn.q_proj,
// ...), dequantised tensor by tensor straight into the parameters, attn_q/attn_k rows
// un-permuted from llama.cpp's interleaved-pair rotary layout to HF's half-split one; no
// output.weight means the head is tied to the embedding. The tokenizer: gguf_tokenizer.hpp.
// Not supported yet, each an error naming the file: other architectures, rope scaling
// (rope_freqs.weight, llama.rope.scaling.*), attention biases, mixtures of experts.
#pragma once

#include <string>

#include "gavamoe/model/gguf.hpp"
#include "gavamoe/model/llama.hpp"

namespace gavamoe {

LlamaConfig gguf_llama_config(const GgufFile& file);
// GGUF name of a LlamaImpl parameter ("layers.3.self_attn.q_proj.weight" ->
// "blk.3.attn_q.weight").
std::string gguf_tensor_name(const std::string& parameter_name);
// Fills every parameter of `model` (built from gguf_llama_config(file)) from the file.
void load_gguf_weights(Llama& model, const GgufFile& file);
// The model of the file, built in `dtype` on `device`, weights loaded, in eval mode; a model
// whose weights do not fit in the device's memory is refused first (memory_estimate.hpp).
Llama load_gguf_llama(const GgufFile& file, torch::Dtype dtype = torch::kFloat32,
                      torch::Device device = torch::kCPU);

}  // namespace gavamoe
