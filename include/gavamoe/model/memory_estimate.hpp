// Memory estimates: the bytes a model and its work need, compared with what the machine has
// before anything is allocated, so that a model too large for the machine is one line saying
// how much is needed and how much there is, instead of an allocation failure with a LibTorch
// trace, minutes of swapping or the kernel's OOM killer.
//
// Estimates are lower bounds of the peak: weights (parameters x element size); for training
// the gradients and AdamW moments of the trained parameters and the activations kept for the
// backward pass; for generation the KV cache, one layer's activations over the prompt and the
// float32 logits of a step. Available: MemAvailable of /proc/meminfo on the CPU (what the
// kernel can hand out without swapping), the device's free memory on CUDA.
#pragma once

#include <torch/types.h>

#include <optional>
#include <string>

#include "gavamoe/model/llama_config.hpp"

namespace gavamoe {

struct ExplainerOptions;
struct ExplainerRunInfo;

struct MemoryEstimate {
  double weights = 0;   // parameters and buffers
  double training = 0;  // gradients, optimizer moments, activations kept for backward
  double work = 0;      // KV cache, activations, logits, scores
  double total() const { return weights + training + work; }
};

double element_bytes(torch::Dtype dtype);
// The weights of a Llama of `config` in `dtype`.
double llama_weight_bytes(const LlamaConfig& config, torch::Dtype dtype);
// Generating for `rows` sequences of up to `length` positions (prompt and new tokens): the KV
// cache, the prefill's activations of one layer and the logits of a step with their processed
// copies. Beam search decodes one prompt at a time, so its rows are the beams.
double generation_bytes(const LlamaConfig& config, torch::Dtype dtype, int64_t rows,
                        int64_t length);
// Training a Llama on batches of `rows` x `length` tokens in float32: activations kept for the
// backward pass (one layer's with gradient checkpointing) and the logits with their gradient.
double training_activation_bytes(const LlamaConfig& config, int64_t rows, int64_t length,
                                 bool checkpointing);
// Gradient and the two AdamW moments of `parameters` float32 parameters.
double adamw_state_bytes(double parameters);

// An explainer on a base of `base`'s shape: the base's weights in `base_dtype` (a frozen
// pretrained base may be bfloat16) and the experts in float32.
MemoryEstimate explainer_memory(const LlamaConfig& base, const ExplainerOptions& options,
                                torch::Dtype base_dtype);
// The same for training on micro-batches of `rows` x `length` tokens: the gradients and AdamW
// moments of what trains (everything from scratch; the experts on a pretrained base) and the
// activations.
MemoryEstimate explainer_training_memory(const LlamaConfig& base, const ExplainerOptions& options,
                                         torch::Dtype base_dtype, int64_t rows, int64_t length,
                                         bool checkpointing);
// The base config of an explainer run, without reading any weights.
LlamaConfig explainer_base_config(const ExplainerRunInfo& info);

// What can still be allocated on `device`; nullopt when it cannot be read (then no check).
std::optional<double> available_memory(torch::Device device);
// "1.5 GiB"
std::string format_bytes(double bytes);
// Throws a gavamoe::Error "<what> needs about X of memory (weights A, ...), but only Y is
// available on D" when the estimate exceeds what `device` has.
void require_memory(const std::string& what, const MemoryEstimate& need, torch::Device device);

}  // namespace gavamoe
