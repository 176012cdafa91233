// Memory estimates of models and their work against the memory of the machine.
#include "gavamoe/model/memory_estimate.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "gavamoe/core/error.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/pretrained.hpp"

#ifdef GAVAMOE_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace gavamoe {
namespace {

constexpr double kFloat32 = 4;

// MemAvailable of /proc/meminfo in bytes, or nullopt.
std::optional<double> cpu_available() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, unit;
    double kib = 0;
    if (fields >> key >> kib >> unit && key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

std::optional<double> cuda_available(torch::Device device) {
#ifdef GAVAMOE_WITH_CUDA
  const c10::cuda::CUDAGuard guard(device.has_index() ? device.index() : 0);
  size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
    cudaGetLastError();  // clears the error so that later CUDA calls do not report it
    return std::nullopt;
  }
  return static_cast<double>(free);
#else
  return std::nullopt;
#endif
}

}  // namespace

double element_bytes(torch::Dtype dtype) { return static_cast<double>(c10::elementSize(dtype)); }

double llama_weight_bytes(const LlamaConfig& config, torch::Dtype dtype) {
  return static_cast<double>(config.num_parameters()) * element_bytes(dtype);
}

double generation_bytes(const LlamaConfig& config, torch::Dtype dtype, int64_t rows,
                        int64_t length) {
  const double r = static_cast<double>(rows), t = static_cast<double>(length);
  const double element = element_bytes(dtype);
  const double kv_width = static_cast<double>(config.num_key_value_heads * config.head_dim);
  const double kv_cache =
      2 * static_cast<double>(config.num_hidden_layers) * r * t * kv_width * element;
  // The prefill of one layer: hidden states and their norm, q/k/v/o, the MLP's three
  // intermediate tensors, and the attention scores with their float32 softmax.
  const double width = static_cast<double>(config.hidden_size);
  const double q_width = static_cast<double>(config.num_attention_heads * config.head_dim);
  const double layer =
      r * t *
          (3 * width + 2 * q_width + 2 * kv_width +
           3 * static_cast<double>(config.intermediate_size)) *
          element +
      r * static_cast<double>(config.num_attention_heads) * t * t * (element + kFloat32);
  // The last position's logits, then the penalised, log-softmax and scored copies.
  const double logits = 4 * r * static_cast<double>(config.vocab_size) * kFloat32;
  return kv_cache + layer + logits;
}

double training_activation_bytes(const LlamaConfig& config, int64_t rows, int64_t length,
                                 bool checkpointing) {
  const double tokens = static_cast<double>(rows) * static_cast<double>(length);
  const double width = static_cast<double>(config.hidden_size);
  const double q_width = static_cast<double>(config.num_attention_heads * config.head_dim);
  const double kv_width = static_cast<double>(config.num_key_value_heads * config.head_dim);
  // What autograd keeps of a layer: its inputs, norms, q/k/v/o, the MLP's intermediates and
  // the attention probabilities.
  const double layer = tokens *
                           (4 * width + 2 * q_width + 2 * kv_width +
                            4 * static_cast<double>(config.intermediate_size)) *
                           kFloat32 +
                       tokens * static_cast<double>(config.num_attention_heads) *
                           static_cast<double>(length) * kFloat32;
  const double layers =
      checkpointing
          ? static_cast<double>(config.num_hidden_layers) * tokens * width * kFloat32 + layer
          : static_cast<double>(config.num_hidden_layers) * layer;
  const double logits = 3 * tokens * static_cast<double>(config.vocab_size) * kFloat32;
  return layers + logits;
}

double adamw_state_bytes(double parameters) { return 3 * parameters * kFloat32; }

LlamaConfig explainer_base_config(const ExplainerRunInfo& info) {
  if (!info.base_model.empty()) return load_pretrained_config(info.base_model);
  return LlamaConfig::from_json(info.model_config, "model_config");
}

namespace {

// Parameters of the experts and routers of an explainer on a base of `config`.
double expert_parameters(const ExplainerOptions& o, const LlamaConfig& config) {
  const int64_t moe_layers =
      o.moe_layers.empty() ? config.num_hidden_layers : static_cast<int64_t>(o.moe_layers.size());
  const double hidden = static_cast<double>(config.hidden_size);
  return static_cast<double>(moe_layers) * static_cast<double>(o.n_experts) * hidden *
         (3 * static_cast<double>(o.expert_width) + static_cast<double>(o.n_clusters));
}

}  // namespace

MemoryEstimate explainer_memory(const LlamaConfig& base, const ExplainerOptions& options,
                                torch::Dtype base_dtype) {
  MemoryEstimate need;
  need.weights = static_cast<double>(base.num_parameters()) * element_bytes(base_dtype) +
                 expert_parameters(options, base) * kFloat32;
  return need;
}

MemoryEstimate explainer_training_memory(const LlamaConfig& base, const ExplainerOptions& options,
                                         torch::Dtype base_dtype, int64_t rows, int64_t length,
                                         bool checkpointing) {
  MemoryEstimate need = explainer_memory(base, options, base_dtype);
  const double experts = expert_parameters(options, base);
  const double trained =
      options.pretrained_base ? experts : static_cast<double>(base.num_parameters()) + experts;
  need.training =
      adamw_state_bytes(trained) + training_activation_bytes(base, rows, length, checkpointing);
  return need;
}

std::optional<double> available_memory(torch::Device device) {
  if (device.is_cpu()) return cpu_available();
  if (device.is_cuda()) return cuda_available(device);
  return std::nullopt;
}

std::string format_bytes(double bytes) {
  static const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(units)) {
    bytes /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

void require_memory(const std::string& what, const MemoryEstimate& need, torch::Device device) {
  const std::optional<double> available = available_memory(device);
  if (!available || need.total() <= *available) return;
  std::string parts;
  const std::pair<const char*, double> named[] = {
      {"weights", need.weights}, {"training", need.training}, {"work", need.work}};
  for (const auto& [name, bytes] : named)
    if (bytes > 0)
      parts += (parts.empty() ? "" : ", ") + std::string(name) + " " + format_bytes(bytes);
  const std::string where =
      device.is_cpu() ? "this machine (MemAvailable in /proc/meminfo)" : device.str() + " (free)";
  throw Error(what + " needs about " + format_bytes(need.total()) + " of memory (" + parts +
              "), but only " + format_bytes(*available) + " is available on " + where);
}

}  // namespace gavamoe
