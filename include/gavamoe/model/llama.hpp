// Llama decoder (HF LlamaForCausalLM layout): token embedding, N decoder layers
// (RMSNorm -> grouped-query attention with rotary embeddings -> residual, RMSNorm ->
// feed-forward -> residual), final RMSNorm, output head (tied to the embedding or not).
//
// Shapes: B batch, T new tokens, S key slots, C hidden, H query heads, KV key/value heads,
// D head dim, V vocabulary. Parameter names follow HF without the "model." prefix
// (embed_tokens.weight, layers.0.self_attn.q_proj.weight, ..., norm.weight, lm_head.weight);
// with LoRA (AttentionImpl::add_lora) PEFT's ...q_proj.base_layer.weight, ...q_proj.lora_A.weight.
//
// Reduced precision: the model computes in the dtype of its parameters (load_llama(dir,
// torch::kBFloat16) or kHalf), with RMSNorm statistics and rotary angles in float32 as HF
// does, and attention softmax in float32 inside scaled_dot_product_attention (its CPU kernels
// accumulate half types in float32). This rather than CPU autocast: autocast keeps float32
// weights (no memory saved, casts at every matmul) and is thread-local state that every caller
// would have to set.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "gavamoe/model/feed_forward.hpp"
#include "gavamoe/model/kv_cache.hpp"
#include "gavamoe/model/llama_config.hpp"
#include "gavamoe/model/lora.hpp"

namespace gavamoe {

// Per-row vectors that replace the input embeddings of placeholder tokens (the explainer's user
// and item): wherever ids == tokens[p], row b takes vectors[b, p]. Placeholder ids may lie
// outside the vocabulary (>= vocab_size); they never reach the embedding table.
struct Placeholders {
  std::vector<int64_t> tokens;  // [P]
  torch::Tensor vectors;        // [B, P, C]
  bool empty() const { return tokens.empty(); }
};

struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(int64_t size, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // normalised in float32, as HF does

  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

// Rotary embedding in the HF layout: the head dim is split in halves rotated together
// (rotate_half), not interleaved pairs. Angles are computed in float32, then cast to `dtype`.
struct Rotary {
  // [D/2] float32: theta^(-2i/D).
  static torch::Tensor inverse_frequencies(int64_t head_dim, double theta);
  // positions [B, T] int64 ([N, 1] for packed tokens); inverse_frequencies on their device.
  Rotary(const torch::Tensor& positions, const torch::Tensor& inverse_frequencies,
         torch::Dtype dtype);
  torch::Tensor apply(const torch::Tensor& x) const;  // [B, heads, T, D]

  // [B, 1, T, D]; sin is negated on the first half, so that rotate_half(x) * sin is
  // x.roll(D/2) * signed_sin (one op fewer per call).
  torch::Tensor cos, signed_sin;
};

// The real tokens of right-padded rows, packed (LlamaImpl::packed_hidden): the blocks that work
// token by token (norms, projections, feed-forward) run on M computed tokens only, as [M, 1, C],
// and attention on the [B, T] slots, each slot reading its computed token. Without shared
// prefixes the computed tokens are the N real tokens in row-major order (M = N). With them
// (pack_tokens with input keys), a row whose first s inputs and routing equal those of an
// earlier row reads that row's computed tokens for its first s slots: a token's hidden state
// depends only on the inputs up to it and the row's routing, so the values are the same, and
// the gradient reaching a shared token is the sum of its readers' (attention's index_select
// backward adds them up). One difference in training: a shared token draws one LoRA dropout
// mask for all its readers.
struct TokenPacking {
  torch::Tensor tokens;  // [M] int64: the slot b * T + t each computed token is computed at
  torch::Tensor source;  // [B * T] int64: the computed token each slot reads (padding: any)
  torch::Tensor real;    // [N] int64: the computed token of each real slot, in row-major order
  int64_t batch = 0, length = 0;  // B, T
  bool packed() const { return tokens.defined(); }
  bool shares() const { return real.size(0) > tokens.size(0); }
};

// The packing of right-padded rows (valid [B, T] bool, each row's real tokens first). keys
// [B, T] int64 (input_keys) or undefined (no sharing); rows share a prefix only when their
// routing (cluster and cluster weights, where given) is the same. Computed on the host.
TokenPacking pack_tokens(const torch::Tensor& valid, const Routing& routing = {},
                         const torch::Tensor& keys = {});
// Keys that tell equal inputs: the ids [B, T], with every slot of a placeholder token (whose
// vector is the row's own) given a key no other row has.
torch::Tensor input_keys(const torch::Tensor& ids, const std::vector<int64_t>& placeholder_tokens);

struct AttentionImpl : torch::nn::Module {
  explicit AttentionImpl(const LlamaConfig& config);
  // x [B, T, C]; mask [B, 1, T, S] bool (true: may attend) or undefined for plain causal.
  // With a cache, the new keys/values go to slots [start, start + T) of `layer` and the
  // queries attend to slots [0, start + T). Packed (no mask, no cache): x [N, 1, C] -> [N, 1, C],
  // plain causal attention within each of the B rows.
  torch::Tensor forward(const torch::Tensor& x, const Rotary& rotary, const torch::Tensor& mask,
                        KvCache* cache, size_t layer, int64_t start,
                        const TokenPacking& packing = {});

  // Wraps q/k/v/o in LoRA adapters that replace them as the submodules "q_proj", ... (PEFT
  // names: q_proj.base_layer.weight, q_proj.lora_A.weight, q_proj.lora_B.weight); q_proj, ...
  // stay the (now frozen) base layers.
  void add_lora(const LoraOptions& options);

  int64_t num_heads, num_kv_heads, head_dim;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  LoraLinear q_lora{nullptr}, k_lora{nullptr}, v_lora{nullptr}, o_lora{nullptr};  // add_lora
};
TORCH_MODULE(Attention);

struct DecoderLayerImpl : torch::nn::Module {
  DecoderLayerImpl(const LlamaConfig& config, size_t index);
  torch::Tensor forward(const torch::Tensor& x, const Rotary& rotary, const torch::Tensor& mask,
                        KvCache* cache, int64_t start, const Routing& routing,
                        const TokenPacking& packing = {});
  // Swaps the feed-forward block (e.g. for a mixture of experts); it stays named "mlp".
  void set_feed_forward(std::shared_ptr<FeedForwardImpl> block);

  size_t index;
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  std::shared_ptr<FeedForwardImpl> mlp;
};
TORCH_MODULE(DecoderLayer);

struct LlamaImpl : torch::nn::Module {
  explicit LlamaImpl(const LlamaConfig& config);

  // HF initialisation (normal(0, initializer_range), norms at 1), for training from scratch.
  void init_weights(uint64_t seed);
  // ids [B, T] int64 -> embeddings [B, T, C], placeholder tokens replaced by their vectors.
  torch::Tensor embed(const torch::Tensor& ids, const Placeholders& placeholders = {});
  // Final normalised hidden states [B, T, C]. positions [B, T] int64 (rotary positions);
  // valid [B, T] bool marks real tokens (undefined: all real). With a cache the T tokens
  // follow the cached ones; without, they are a whole sequence.
  torch::Tensor hidden(const torch::Tensor& embeddings, const torch::Tensor& positions,
                       const torch::Tensor& valid = {}, KvCache* cache = nullptr,
                       const Routing& routing = {});
  // The final normalised hidden states [N, C] of the real tokens of right-padded rows, in
  // row-major order (the rows of hidden(embeddings, positions)[valid]): valid [B, T] bool, each
  // row's real tokens first, at positions 0, 1, ...; routing per row. For training and scoring:
  // the per-token work is spent on the N real tokens only, not on B x T slots, and with `keys`
  // (input_keys of the ids) a prefix that rows of the same routing share is computed once
  // (TokenPacking).
  torch::Tensor packed_hidden(const torch::Tensor& embeddings, const torch::Tensor& valid,
                              const Routing& routing = {}, const torch::Tensor& keys = {});
  torch::Tensor head(const torch::Tensor& hidden);  // [.., C] -> logits [.., V]
  // Whole sequences ids [B, T] (no padding, positions 0..T-1) -> logits [B, T, V].
  torch::Tensor forward(const torch::Tensor& ids);
  // A cache sized for this model.
  KvCache make_cache(int64_t batch, int64_t capacity);

  LlamaConfig config;
  torch::Tensor rotary_inverse_frequencies;  // [D/2] float32 on the CPU, moved per call
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers;
  RMSNorm norm{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tied to embed_tokens
  // Recompute each layer's activations in backward instead of keeping them (training with
  // grad and without a cache only): less memory for about one more forward pass.
  bool gradient_checkpointing = false;

 private:
  // x through the decoder layers, then the final norm.
  torch::Tensor run_layers(torch::Tensor x, const Rotary& rotary, const torch::Tensor& mask,
                           KvCache* cache, int64_t start, const Routing& routing,
                           const TokenPacking& packing);
};
TORCH_MODULE(Llama);

}  // namespace gavamoe
