// SASRec (sasrec.hpp). Shapes: B batch, L history, Q query positions (L or 1), D width,
// H heads, E = D / H head width, M items.
#include "gavamoe/rec/sasrec.hpp"

#include <cmath>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"

namespace gavamoe {
namespace {

torch::nn::LayerNorm layer_norm(const SasrecOptions& o) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim}).eps(o.layer_norm_eps));
}

}  // namespace

nlohmann::json SasrecOptions::to_json() const {
  return {{"n_items", n_items},
          {"dim", dim},
          {"layers", layers},
          {"heads", heads},
          {"ffn", ffn},
          {"max_history", max_history},
          {"hidden_dropout", hidden_dropout},
          {"attn_dropout", attn_dropout},
          {"layer_norm_eps", layer_norm_eps}};
}

void SasrecOptions::check() const {
  if (n_items < 2 || dim < 1 || layers < 1 || heads < 1 || dim % heads != 0 || ffn < 1 ||
      max_history < 1)
    throw Error(
        "sasrec: needs at least one item, positive sizes and a width divisible by the "
        "number of heads (rec.sasrec_dim " +
        std::to_string(dim) + ", rec.sasrec_heads " + std::to_string(heads) + ")");
  check_rec_size("rec.sasrec_dim", dim, kMaxRecWidth);
  check_rec_size("rec.sasrec_layers", layers, kMaxRecLayers);
  check_rec_size("rec.sasrec_heads", heads, kMaxRecWidth);
  check_rec_size("rec.sasrec_ffn", ffn, kMaxRecFeedForward);
  check_rec_size("rec.sasrec_max_history", max_history, kMaxRecHistory);
}

int64_t SasrecOptions::num_parameters() const {
  const int64_t norm = 2 * dim;
  const int64_t attention = 4 * (dim * dim + dim) + norm;
  const int64_t feed_forward = dim * ffn + ffn + ffn * dim + dim + norm;
  return n_items * dim + (max_history + 1) * dim + norm + layers * (attention + feed_forward);
}

SasrecOptions SasrecOptions::from_json(const nlohmann::json& j, const std::string& origin) {
  SasrecOptions o;
  o.n_items = json_value<int64_t>(j, "n_items", origin);
  o.dim = json_value<int64_t>(j, "dim", origin);
  o.layers = json_value<int64_t>(j, "layers", origin);
  o.heads = json_value<int64_t>(j, "heads", origin);
  o.ffn = json_value<int64_t>(j, "ffn", origin);
  o.max_history = json_value<int64_t>(j, "max_history", origin);
  o.hidden_dropout = json_value<double>(j, "hidden_dropout", origin);
  o.attn_dropout = json_value<double>(j, "attn_dropout", origin);
  o.layer_norm_eps = json_value<double>(j, "layer_norm_eps", origin);
  return o;
}

SasrecAttentionImpl::SasrecAttentionImpl(const SasrecOptions& o) : heads(o.heads) {
  query = register_module("query", torch::nn::Linear(o.dim, o.dim));
  key = register_module("key", torch::nn::Linear(o.dim, o.dim));
  value = register_module("value", torch::nn::Linear(o.dim, o.dim));
  dense = register_module("dense", torch::nn::Linear(o.dim, o.dim));
  LayerNorm = register_module("LayerNorm", layer_norm(o));
  attn_dropout = register_module("attn_dropout", FastDropout(o.attn_dropout));
  out_dropout = register_module("out_dropout", FastDropout(o.hidden_dropout));
}

torch::Tensor SasrecAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                           bool last_only) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2), E = D / heads;
  const auto input = last_only ? x.slice(1, L - 1, L) : x;  // [B, Q, D]
  const int64_t Q = input.size(1);
  auto split_heads = [&](const torch::Tensor& t, int64_t n) {
    return t.view({B, n, heads, E}).permute({0, 2, 1, 3});  // [B, H, n, E]
  };
  const auto q = split_heads(query(input), Q);
  const auto k = split_heads(key(x), L);
  const auto v = split_heads(value(x), L);
  auto scores = q.matmul(k.transpose(-1, -2)) / std::sqrt(static_cast<double>(E));  // [B,H,Q,L]
  scores = scores + (last_only ? mask.slice(2, L - 1, L) : mask);
  const auto probs = attn_dropout(torch::softmax(scores, -1));
  const auto context = probs.matmul(v).permute({0, 2, 1, 3}).reshape({B, Q, D});
  return LayerNorm(out_dropout(dense(context)) + input);
}

SasrecFeedForwardImpl::SasrecFeedForwardImpl(const SasrecOptions& o) {
  dense_1 = register_module("dense_1", torch::nn::Linear(o.dim, o.ffn));
  dense_2 = register_module("dense_2", torch::nn::Linear(o.ffn, o.dim));
  LayerNorm = register_module("LayerNorm", layer_norm(o));
  dropout = register_module("dropout", FastDropout(o.hidden_dropout));
}

torch::Tensor SasrecFeedForwardImpl::forward(const torch::Tensor& x) {
  return LayerNorm(dropout(dense_2(torch::silu(dense_1(x)))) + x);
}

SasrecLayerImpl::SasrecLayerImpl(const SasrecOptions& o) {
  multi_head_attention = register_module("multi_head_attention", SasrecAttention(o));
  feed_forward = register_module("feed_forward", SasrecFeedForward(o));
}

torch::Tensor SasrecLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                       bool last_only) {
  return feed_forward(multi_head_attention(x, mask, last_only));
}

SasrecEncoderImpl::SasrecEncoderImpl(const SasrecOptions& o) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) layer->push_back(SasrecLayer(o));
}

Sasrec::Sasrec(const SasrecOptions& o) : options(o) {
  o.check();
  item_embedding = register_module(
      "item_embedding",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(o.n_items, o.dim).padding_idx(0)));
  // One row more than positions, as UniRec ("+1 for consistency with the ranking model").
  position_embedding =
      register_module("position_embedding", torch::nn::Embedding(o.max_history + 1, o.dim));
  LayerNorm = register_module("LayerNorm", layer_norm(o));
  dropout = register_module("dropout", FastDropout(o.hidden_dropout));
  trm_encoder = register_module("trm_encoder", SasrecEncoder(o));
}

torch::Tensor Sasrec::user_vectors(const UserBatch& batch) {
  const auto& seq = batch.histories;  // [B, L]
  const int64_t L = seq.size(1);
  if (L != options.max_history)
    throw Error("sasrec: histories must be padded to " + std::to_string(options.max_history) +
                " items, got " + std::to_string(L));
  auto x = item_embedding(seq) + position_embedding->weight.slice(0, 0, L).unsqueeze(0);
  x = dropout(LayerNorm(x));  // [B, L, D]
  const auto keys = (seq > 0).to(x.dtype()).view({seq.size(0), 1, 1, L});
  const auto causal = torch::ones({L, L}, x.options()).tril().view({1, 1, L, L});
  const auto mask = (1.0 - keys * causal) * -10000.0;  // [B, 1, L, L]
  const auto& layers = *trm_encoder->layer;
  for (size_t i = 0; i < layers.size(); ++i)
    x = layers[i]->as<SasrecLayer>()->forward(x, mask, i + 1 == layers.size());
  return x.select(1, x.size(1) - 1);  // [B, D]
}

torch::Tensor Sasrec::item_vectors(const torch::Tensor& ids) { return item_embedding(ids); }

}  // namespace gavamoe
