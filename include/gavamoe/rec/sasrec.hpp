// SASRec as UniRec configures it for RecExplainer (unirec/model/sequential/sasrec.py,
// unirec/model/modules.py).
//
// x = Dropout(LayerNorm(item_embedding[seq] + position_embedding[0..L-1])) for a left-padded
// history of exactly L = max_history ids (the newest item at position L-1), then post-LN
// (BERT-style) layers: attention h = LN(x + Dropout(dense(Dropout_attn(softmax(q k^T /
// sqrt(d_head) + mask)) v))), feed-forward LN(h + Dropout(W2 SiLU(W1 h))); the mask adds
// -10000 where a key is padding or lies in the future. The user vector is the last layer's
// output at the last position; scores are dot products with the same (tied) item table. Only
// that position of the last layer is computed: its output is the same as the full layer's.
// Dropout is FastDropout (fast_dropout.hpp): the same rule with a cheaper random mask.
// Tensor names follow UniRec's state_dict (item_embedding.weight, position_embedding.weight,
// LayerNorm.*, trm_encoder.layer.<i>.multi_head_attention.{query,key,value,dense,LayerNorm}.*,
// trm_encoder.layer.<i>.feed_forward.{dense_1,dense_2,LayerNorm}.*), so UniRec weights convert
// by name. Shapes: B batch, L history, D width, H heads, F feed-forward width, M items.
#pragma once

#include <nlohmann/json.hpp>

#include "gavamoe/model/fast_dropout.hpp"
#include "gavamoe/rec/recommender.hpp"

namespace gavamoe {

struct SasrecOptions {
  int64_t n_items = 0;  // M, padding id 0 included
  int64_t dim = 256;
  int64_t layers = 2;
  int64_t heads = 16;
  int64_t ffn = 512;
  int64_t max_history = 9;
  double hidden_dropout = 0.4954053313841075;
  double attn_dropout = 0.1871672079253271;
  double layer_norm_eps = 1e-10;

  nlohmann::json to_json() const;
  // Sizes positive, within recommender.hpp's bounds, the width a multiple of the heads.
  void check() const;
  int64_t num_parameters() const;  // of the model these (checked) options build
  // Errors name `origin`.
  static SasrecOptions from_json(const nlohmann::json& j, const std::string& origin);
};

class SasrecAttentionImpl : public torch::nn::Module {
 public:
  SasrecAttentionImpl(const SasrecOptions& o);
  // x [B, L, D], mask [B, 1, L, L] (additive); last_only: queries of the last position only.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, bool last_only);

  int64_t heads;
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  FastDropout attn_dropout{nullptr}, out_dropout{nullptr};
};
TORCH_MODULE(SasrecAttention);

class SasrecFeedForwardImpl : public torch::nn::Module {
 public:
  SasrecFeedForwardImpl(const SasrecOptions& o);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear dense_1{nullptr}, dense_2{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  FastDropout dropout{nullptr};
};
TORCH_MODULE(SasrecFeedForward);

class SasrecLayerImpl : public torch::nn::Module {
 public:
  SasrecLayerImpl(const SasrecOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, bool last_only);

  SasrecAttention multi_head_attention{nullptr};
  SasrecFeedForward feed_forward{nullptr};
};
TORCH_MODULE(SasrecLayer);

class SasrecEncoderImpl : public torch::nn::Module {
 public:
  SasrecEncoderImpl(const SasrecOptions& o);
  torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(SasrecEncoder);

class Sasrec : public Recommender {
 public:
  explicit Sasrec(const SasrecOptions& options);

  std::string kind() const override { return "sasrec"; }
  int64_t dim() const override { return options.dim; }
  int64_t n_items() const override { return options.n_items; }
  int64_t history_length() const override { return options.max_history; }
  torch::Tensor user_vectors(const UserBatch& batch) override;
  torch::Tensor item_vectors(const torch::Tensor& ids) override;
  using Recommender::item_vectors;

  SasrecOptions options;
  torch::nn::Embedding item_embedding{nullptr}, position_embedding{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  FastDropout dropout{nullptr};
  SasrecEncoder trm_encoder{nullptr};
};

}  // namespace gavamoe
