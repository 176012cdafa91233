// Explainer: the cluster-gated mixture-of-experts Llama that writes explanations (GaVaMoE part 2).
//
// A Llama base whose feed-forward blocks (all layers, or `moe_layers`) are MoeFeedForward
// blocks routed by the record's VAE cluster; the input embeddings of the two placeholder
// tokens are replaced by Linear(E -> hidden) projections of the frozen VAE user and item
// tables. With a pretrained base only the experts, routers, projections and LoRA adapters
// (on q/k/v/o) train; from scratch everything trains (no LoRA).
// Dtypes: with a pretrained base the trainable parts are float32 whatever the base's dtype, so
// a frozen bfloat16 base (train.base_dtype) halves the base's memory while the trained weights,
// their gradients and AdamW's moments stay float32; the residual stream runs in the base's
// dtype, each adapter and expert casts its input to float32 and its output back, the routers
// score in float32 and the logits are cast to float32 for the loss. The export of a bfloat16
// base is float32 (the wider dtype), so merged LoRA updates are not rounded away.
//
// Shapes: B records, T tokens, C hidden, V vocabulary, E VAE embedding width, K clusters.
// The export (export_hf) is an HF Llama folder of the base with LoRA merged plus
// explainer.safetensors / explainer.json; `gavamoe generate` runs it with --cluster.
// Parameter names: llama.<HF name without "model.">, user_projection.weight/bias,
// item_projection.weight/bias; buffers user_table [n_users + 1, E], item_table [n_items + 1, E]
// (the VAE's tables, last row the unknown id).
#pragma once

#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gavamoe/data/explanation_prompt.hpp"
#include "gavamoe/model/llama.hpp"
#include "gavamoe/model/lora.hpp"
#include "gavamoe/model/moe_feed_forward.hpp"

namespace gavamoe {

struct ExplainerOptions {
  int64_t n_experts = 4;  // 0: no MoE blocks, every layer keeps its MLP (LoRA only on a base)
  int64_t expert_width = 256;
  int64_t top_k = 2;
  int64_t n_clusters = 4;
  std::string gating = "hard";       // hard | soft
  std::string base_ffn = "replace";  // replace | shared
  std::vector<int64_t> moe_layers;   // empty: every layer
  double load_balance_weight = 0.0;  // > 0 turns the auxiliary loss on
  bool pretrained_base = false;      // true: base frozen, LoRA on q/k/v/o
  LoraOptions lora;                  // rank 0: no adapters (an export, where they are merged)
  int user_token = -1;               // placeholder ids (see explanation_prompt.hpp)
  int item_token = -1;

  nlohmann::json to_json() const;
  static ExplainerOptions from_json(const nlohmann::json& j);  // errors name the key
};

// One batch of right-padded training examples.
struct ExplainerBatch {
  torch::Tensor ids;      // [B, T] int64 (padding: any valid id)
  torch::Tensor valid;    // [B, T] bool, real tokens
  torch::Tensor targets;  // [B, T] int64: the next token where the loss applies, else -100
  torch::Tensor users;    // [B] int64, VAE user rows
  torch::Tensor items;    // [B] int64, VAE item rows
  Routing routing;        // clusters [B] (hard), weights [B, K] (soft)
};

struct ExplainerLoss {
  torch::Tensor sum;   // summed token cross-entropy (float32 scalar), + aux weight * aux * tokens
  torch::Tensor aux;   // mean load-balancing loss over MoE layers (undefined when off)
  int64_t tokens = 0;  // target tokens in the batch
};

struct ExplainerImpl : torch::nn::Module {
  // `base`: a loaded pretrained Llama or a freshly initialised one; tables from the VAE.
  ExplainerImpl(Llama base, const ExplainerOptions& options, const torch::Tensor& user_table,
                const torch::Tensor& item_table);

  // Placeholder vectors of each row: [B, 2, C] (user, item), for Llama::embed / generate.
  Placeholders placeholders(const torch::Tensor& users, const torch::Tensor& items);
  torch::Tensor logits(const ExplainerBatch& batch);  // [B, T, V] float32
  // Summed (not averaged) so that data-parallel ranks and accumulation steps can normalise by
  // the global token count.
  ExplainerLoss loss(const ExplainerBatch& batch);
  // The routing the loss packs the batch's tokens by (Llama::packed_hidden): the part its
  // gating reads, none without MoE blocks, on the model's device.
  Routing loss_routing(const ExplainerBatch& batch);

  // Trainable parameters by name (requires_grad), in name order; what checkpoints hold.
  std::map<std::string, torch::Tensor> trainable_parameters();
  int64_t trainable_count();
  int64_t parameter_count();
  // Loads a map written from trainable_parameters(); every name must be present.
  void load_trainable(const std::map<std::string, torch::Tensor>& tensors,
                      const std::string& source);

  // The HF-layout checkpoint of the base with LoRA merged (config.json, model.safetensors; for
  // "replace" layers the base MLP is omitted), plus explainer.json (options) and
  // explainer.safetensors (experts, routers, projections, tables) in `dir`.
  void export_hf(const std::string& dir);

  ExplainerOptions options;
  Llama llama{nullptr};
  std::vector<MoeFeedForward> moe_blocks;  // the MoE layers' blocks, in layer order
  torch::nn::Linear user_projection{nullptr}, item_projection{nullptr};
  torch::Tensor user_table, item_table;
};
TORCH_MODULE(Explainer);

// A training run folder as `gavamoe train` writes it:
//   explainer.json         {"options": ExplainerOptions, "base_model": the pretrained base as
//                           resolved by load_pretrained (a GGUF file or an HF folder) | null,
//                           "base_dtype": "float32" | "bfloat16" (the frozen pretrained base's
//                           storage and compute dtype; absent in older runs: float32),
//                           "model_config": HF config.json object (from-scratch bases),
//                           "vae_run": path of the VAE run}
//   explainer.safetensors  trainable_parameters() of the best epoch
//   tokenizer.model        the tokenizer the prompts were encoded with (SentencePiece), or
//   tokenizer.json         (byte-level BPE); a pretrained base's comes with
//   tokenizer_config.json  (save_hf_tokenizer: BOS/EOS, add_bos_token, chat template), so that
//                          load_tokenizer(run_dir) gives back the base's tokenizer
struct ExplainerRunInfo {
  ExplainerOptions options;
  std::string base_model;       // empty: from scratch
  nlohmann::json model_config;  // HF config of a from-scratch base
  std::string vae_run;
  std::string base_dtype = "float32";  // float32 | bfloat16 (pretrained bases only)
  nlohmann::json to_json() const;
  static ExplainerRunInfo from_json(const nlohmann::json& j, const std::string& source);
};
// "float32" -> kFloat32, "bfloat16" -> kBFloat16; anything else is an Error naming it.
torch::Dtype parse_base_dtype(const std::string& name);
// run_dir/explainer.json, as train writes it.
ExplainerRunInfo read_explainer_run_info(const std::string& run_dir);
// Builds the explainer of a run (base from base_model or model_config, tables from the VAE
// run) without loading explainer.safetensors; a from-scratch base is initialised with `seed`.
Explainer build_explainer(const ExplainerRunInfo& info, uint64_t seed,
                          torch::Device device = torch::kCPU);
// The prompt layout of a run, the same for training and inference: template and max_length as
// given, BOS/EOS from the run's tokenizer, BOS added unless a pretrained base's tokenizer says
// otherwise (SmolLM2 and Qwen2 add none).
PromptOptions explainer_prompt_options(const ExplainerRunInfo& info, const Tokenizer& tokenizer,
                                       const std::string& template_name, int64_t max_length);
// build_explainer + the trained weights of run_dir/explainer.safetensors.
Explainer load_explainer_run(const std::string& run_dir, torch::Device device = torch::kCPU);

// Loads a folder written by export_hf (generate and infer accept it like an HF folder).
Explainer load_exported_explainer(const std::string& dir, torch::Dtype dtype = torch::kFloat32,
                                  torch::Device device = torch::kCPU);
// True when `dir` holds an exported explainer (explainer.json).
bool is_exported_explainer(const std::string& dir);

}  // namespace gavamoe
