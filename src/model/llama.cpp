// Llama decoder: RMSNorm, rotary embedding, grouped-query attention, decoder layers, model.
// Shapes as in llama.hpp: B batch, T new tokens, S key slots, C hidden, D head dim.
#include "gavamoe/model/llama.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "gavamoe/model/activation_checkpoint.hpp"
#include "gavamoe/model/few_rows_linear.hpp"

namespace gavamoe {

namespace nn = torch::nn;

RMSNormImpl::RMSNormImpl(int64_t size, double eps)
    : weight(register_parameter("weight", torch::ones({size}))), eps(eps) {}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  const torch::Tensor x32 = x.to(torch::kFloat32);
  const torch::Tensor normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, true) + eps);
  return weight * normed.to(x.scalar_type());
}

torch::Tensor Rotary::inverse_frequencies(int64_t head_dim, double theta) {
  return 1.0 / torch::pow(theta, torch::arange(0, head_dim, 2, torch::kFloat32) /
                                     static_cast<double>(head_dim));
}

Rotary::Rotary(const torch::Tensor& positions, const torch::Tensor& inverse_frequencies,
               torch::Dtype dtype) {
  const torch::Tensor freqs =
      (positions.to(torch::kFloat32).unsqueeze(-1) * inverse_frequencies).unsqueeze(1);
  const torch::Tensor half_cos = freqs.cos(), half_sin = freqs.sin();  // [B, 1, T, D/2]
  cos = torch::cat({half_cos, half_cos}, -1).to(dtype);
  signed_sin = torch::cat({-half_sin, half_sin}, -1).to(dtype);
}

torch::Tensor Rotary::apply(const torch::Tensor& x) const {
  return x * cos + x.roll(x.size(-1) / 2, -1) * signed_sin;
}

AttentionImpl::AttentionImpl(const LlamaConfig& config)
    : num_heads(config.num_attention_heads),
      num_kv_heads(config.num_key_value_heads),
      head_dim(config.head_dim) {
  const int64_t c = config.hidden_size;
  auto linear = [&](const char* name, int64_t in, int64_t out) {
    return register_module(name, nn::Linear(nn::LinearOptions(in, out).bias(false)));
  };
  q_proj = linear("q_proj", c, num_heads * head_dim);
  k_proj = linear("k_proj", c, num_kv_heads * head_dim);
  v_proj = linear("v_proj", c, num_kv_heads * head_dim);
  o_proj = linear("o_proj", num_heads * head_dim, c);
}

void AttentionImpl::add_lora(const LoraOptions& options) {
  auto wrap = [&](const char* name, nn::Linear& base) {
    return replace_module(name, LoraLinear(base, options));
  };
  q_lora = wrap("q_proj", q_proj);
  k_lora = wrap("k_proj", k_proj);
  v_lora = wrap("v_proj", v_proj);
  o_lora = wrap("o_proj", o_proj);
}

namespace {

// The projection through its adapter when there is one.
torch::Tensor project(nn::Linear& base, LoraLinear& lora, const torch::Tensor& x) {
  return lora ? lora(x) : few_rows_linear(base, x);
}

// Packed tokens to and from their slots: [M, heads, 1, D] -> [B, heads, T, D], each slot
// reading its computed token (padding slots read some token, which no real query sees: the
// padding follows every real token of its row), and [B, T, F] -> [M, 1, F] at the slots where
// the tokens are computed.
torch::Tensor to_slots(const torch::Tensor& packed, const TokenPacking& packing) {
  const int64_t heads = packed.size(1), d = packed.size(3);
  return packed.reshape({-1, heads, d})
      .index_select(0, packing.source)
      .view({packing.batch, packing.length, heads, d})
      .transpose(1, 2);
}

torch::Tensor from_slots(const torch::Tensor& x, const TokenPacking& packing) {
  return x.reshape({packing.batch * packing.length, x.size(-1)})
      .index_select(0, packing.tokens)
      .unsqueeze(1);
}

}  // namespace

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const Rotary& rotary,
                                     const torch::Tensor& mask, KvCache* cache, size_t layer,
                                     int64_t start, const TokenPacking& packing) {
  const int64_t b = x.size(0), t = x.size(1);
  torch::Tensor q =
      rotary.apply(project(q_proj, q_lora, x).view({b, t, num_heads, head_dim}).transpose(1, 2));
  torch::Tensor k =
      rotary.apply(project(k_proj, k_lora, x).view({b, t, num_kv_heads, head_dim}).transpose(1, 2));
  torch::Tensor v = project(v_proj, v_lora, x).view({b, t, num_kv_heads, head_dim}).transpose(1, 2);
  if (packing.packed()) {
    TORCH_CHECK(!cache && !mask.defined(), "packed tokens take neither a cache nor a mask");
    q = to_slots(q, packing);
    k = to_slots(k, packing);
    v = to_slots(v, packing);
  }
  if (cache) {
    cache->keys(layer).slice(2, start, start + t).copy_(k);
    cache->values(layer).slice(2, start, start + t).copy_(v);
    k = cache->keys(layer).slice(2, 0, start + t);
    v = cache->values(layer).slice(2, 0, start + t);
  }
  const bool causal = !mask.defined();
  torch::Tensor out = at::scaled_dot_product_attention(
      q, k, v, causal ? std::nullopt : std::optional<torch::Tensor>(mask), 0.0, causal,
      std::nullopt, /*enable_gqa=*/num_kv_heads != num_heads);
  out = out.transpose(1, 2).reshape({out.size(0), out.size(2), num_heads * head_dim});
  if (packing.packed()) out = from_slots(out, packing);
  return project(o_proj, o_lora, out);
}

DecoderLayerImpl::DecoderLayerImpl(const LlamaConfig& config, size_t index)
    : index(index),
      input_layernorm(
          register_module("input_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps))),
      post_attention_layernorm(register_module("post_attention_layernorm",
                                               RMSNorm(config.hidden_size, config.rms_norm_eps))),
      self_attn(register_module("self_attn", Attention(config))),
      mlp(register_module("mlp", Mlp(config.hidden_size, config.intermediate_size).ptr())) {}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const Rotary& rotary,
                                        const torch::Tensor& mask, KvCache* cache, int64_t start,
                                        const Routing& routing, const TokenPacking& packing) {
  const torch::Tensor h =
      x + self_attn(input_layernorm(x), rotary, mask, cache, index, start, packing);
  return h + mlp->forward(post_attention_layernorm(h), routing);
}

void DecoderLayerImpl::set_feed_forward(std::shared_ptr<FeedForwardImpl> block) {
  mlp = replace_module("mlp", std::move(block));
}

LlamaImpl::LlamaImpl(const LlamaConfig& config)
    : config(config),
      rotary_inverse_frequencies(Rotary::inverse_frequencies(config.head_dim, config.rope_theta)) {
  embed_tokens =
      register_module("embed_tokens", nn::Embedding(config.vocab_size, config.hidden_size));
  layers = register_module("layers", nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i)
    layers->push_back(DecoderLayer(config, static_cast<size_t>(i)));
  norm = register_module("norm", RMSNorm(config.hidden_size, config.rms_norm_eps));
  if (!config.tie_word_embeddings)
    lm_head = register_module(
        "lm_head",
        nn::Linear(nn::LinearOptions(config.hidden_size, config.vocab_size).bias(false)));
}

void LlamaImpl::init_weights(uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& item : named_parameters()) {
    torch::Tensor& parameter = item.value();
    if (parameter.dim() == 1) {
      parameter.fill_(1.0);  // RMSNorm weights
    } else {
      torch::Tensor values = torch::empty(parameter.sizes(), torch::kFloat32);
      values.normal_(0.0, config.initializer_range, generator);
      parameter.copy_(values);
    }
  }
}

torch::Tensor LlamaImpl::embed(const torch::Tensor& ids, const Placeholders& placeholders) {
  if (placeholders.empty()) return embed_tokens(ids);
  const auto& vectors = placeholders.vectors;
  TORCH_CHECK(vectors.dim() == 3 && vectors.size(0) == ids.size(0) &&
                  vectors.size(1) == static_cast<int64_t>(placeholders.tokens.size()) &&
                  vectors.size(2) == config.hidden_size,
              "placeholder vectors must be [B, P, C]");
  std::vector<torch::Tensor> at_placeholder;  // [B, T] bool per placeholder
  torch::Tensor any_placeholder = torch::zeros_like(ids, torch::kBool);
  for (int64_t token : placeholders.tokens) {
    at_placeholder.push_back(ids == token);
    any_placeholder |= at_placeholder.back();
  }
  // Placeholder ids may lie beyond the table: look up id 0 there instead, then overwrite.
  torch::Tensor x = embed_tokens(ids.masked_fill(any_placeholder, 0));
  const torch::Tensor rows = vectors.to(x.device(), x.scalar_type());
  for (size_t p = 0; p < at_placeholder.size(); ++p)
    x = torch::where(at_placeholder[p].unsqueeze(-1), rows.select(1, p).unsqueeze(1), x);
  return x;
}

torch::Tensor LlamaImpl::hidden(const torch::Tensor& embeddings, const torch::Tensor& positions,
                                const torch::Tensor& valid, KvCache* cache,
                                const Routing& routing) {
  const int64_t b = embeddings.size(0), t = embeddings.size(1);
  const auto device = embeddings.device();
  int64_t start = 0;
  torch::Tensor mask;
  if (cache || valid.defined()) {
    const torch::Tensor valid_now =
        valid.defined()
            ? valid.to(device, torch::kBool)
            : torch::ones({b, t}, torch::TensorOptions().dtype(torch::kBool).device(device));
    torch::Tensor key_valid = valid_now;
    if (cache) {
      start = cache->append(valid_now);
      key_valid = cache->valid();
    }
    // A query slot sees valid key slots up to itself, and always itself (so that rows of
    // padding stay finite; their outputs are never used).
    const auto slot_options = torch::TensorOptions().dtype(torch::kInt64).device(device);
    const torch::Tensor query_slots = torch::arange(start, start + t, slot_options).unsqueeze(1);
    const torch::Tensor key_slots = torch::arange(key_valid.size(1), slot_options).unsqueeze(0);
    mask = ((key_slots <= query_slots).unsqueeze(0) & key_valid.unsqueeze(1)) |
           (key_slots == query_slots).unsqueeze(0);
    mask = mask.unsqueeze(1);  // [B, 1, T, S]
  }
  const Rotary rotary(positions.to(device), rotary_inverse_frequencies.to(device),
                      embeddings.scalar_type());
  return run_layers(embeddings, rotary, mask, cache, start, routing, {});
}

torch::Tensor LlamaImpl::packed_hidden(const torch::Tensor& embeddings, const torch::Tensor& valid,
                                       const Routing& routing, const torch::Tensor& keys) {
  const int64_t b = embeddings.size(0), t = embeddings.size(1);
  const auto device = embeddings.device();
  TORCH_CHECK(valid.dim() == 2 && valid.size(0) == b && valid.size(1) == t,
              "packed_hidden: valid must be [B, T]");
  TokenPacking packing = pack_tokens(valid, routing, keys);
  packing.tokens = packing.tokens.to(device);
  packing.source = packing.source.to(device);
  packing.real = packing.real.to(device);
  const torch::Tensor rows = packing.tokens.div(t, "floor");
  const torch::Tensor positions = packing.tokens.remainder(t).unsqueeze(1);  // [M, 1]
  // Each computed token is a "sequence" of one for the blocks that route: it takes its row's
  // routing.
  Routing per_token;
  if (routing.clusters.defined())
    per_token.clusters = routing.clusters.to(device).index_select(0, rows);
  if (routing.weights.defined())
    per_token.weights = routing.weights.to(device).index_select(0, rows);
  const torch::Tensor x =
      embeddings.reshape({b * t, embeddings.size(2)}).index_select(0, packing.tokens).unsqueeze(1);
  const Rotary rotary(positions, rotary_inverse_frequencies.to(device), embeddings.scalar_type());
  const torch::Tensor computed =
      run_layers(x, rotary, {}, nullptr, 0, per_token, packing).squeeze(1);  // [M, C]
  return packing.shares() ? computed.index_select(0, packing.real) : computed;
}

torch::Tensor LlamaImpl::run_layers(torch::Tensor x, const Rotary& rotary,
                                    const torch::Tensor& mask, KvCache* cache, int64_t start,
                                    const Routing& routing, const TokenPacking& packing) {
  const bool recompute =
      gradient_checkpointing && is_training() && torch::GradMode::is_enabled() && !cache;
  for (size_t i = 0; i < layers->size(); ++i) {
    auto layer = layers->ptr<DecoderLayerImpl>(i);
    if (!recompute) {
      x = layer->forward(x, rotary, mask, cache, start, routing, packing);
      continue;
    }
    // Captured by value: backward runs the block again after hidden() has returned.
    auto block = [layer, rotary, mask, start, routing, packing](const torch::Tensor& h) {
      return layer->forward(h, rotary, mask, nullptr, start, routing, packing);
    };
    std::vector<torch::Tensor> captured = layer->parameters();
    if (routing.weights.defined()) captured.push_back(routing.weights);
    x = checkpoint(block, x, captured);
  }
  return norm(x);
}

torch::Tensor LlamaImpl::head(const torch::Tensor& hidden) {
  return lm_head ? few_rows_linear(lm_head, hidden) : few_rows_linear(hidden, embed_tokens->weight);
}

torch::Tensor LlamaImpl::forward(const torch::Tensor& ids) {
  const torch::Tensor positions =
      torch::arange(ids.size(1), ids.options().dtype(torch::kInt64)).expand({ids.size(0), -1});
  return head(hidden(embed(ids), positions));
}

KvCache LlamaImpl::make_cache(int64_t batch, int64_t capacity) {
  const torch::Tensor& weight = embed_tokens->weight;
  return KvCache(config, batch, capacity, weight.options().requires_grad(false));
}

namespace {

// Whether rows r and s route alike (the same cluster and cluster weights, where given).
bool same_routing(const Routing& routing, int64_t r, int64_t s) {
  if (routing.clusters.defined() &&
      routing.clusters[r].item<int64_t>() != routing.clusters[s].item<int64_t>())
    return false;
  return !routing.weights.defined() || torch::equal(routing.weights[r], routing.weights[s]);
}

}  // namespace

TokenPacking pack_tokens(const torch::Tensor& valid, const Routing& routing,
                         const torch::Tensor& keys) {
  TORCH_CHECK(valid.dim() == 2, "pack_tokens: valid must be [B, T]");
  const int64_t b = valid.size(0), t = valid.size(1);
  const torch::Tensor real = valid.to(torch::kCPU, torch::kBool).contiguous();
  TORCH_CHECK(t < 2 || !(real.slice(1, 1) & ~real.slice(1, 0, t - 1)).any().item<bool>(),
              "pack_tokens: rows must be right-padded");
  TORCH_CHECK(!keys.defined() || keys.sizes() == valid.sizes(), "pack_tokens: keys must be [B, T]");
  const torch::Tensor lengths_tensor = real.sum(1).to(torch::kInt64);
  const auto lengths = lengths_tensor.accessor<int64_t, 1>();
  Routing host;
  if (routing.clusters.defined()) host.clusters = routing.clusters.to(torch::kCPU);
  if (routing.weights.defined()) host.weights = routing.weights.to(torch::kCPU);
  const torch::Tensor host_keys =
      keys.defined() ? keys.to(torch::kCPU, torch::kInt64).contiguous() : torch::Tensor();

  std::vector<int64_t> tokens, source(b * t, 0), real_tokens;
  for (int64_t r = 0; r < b; ++r) {
    // The earlier row of the same routing with the longest prefix of equal inputs.
    int64_t donor = -1, shared = 0;
    if (host_keys.defined()) {
      const int64_t* own = host_keys.data_ptr<int64_t>() + r * t;
      for (int64_t p = 0; p < r; ++p) {
        if (!same_routing(host, p, r)) continue;
        const int64_t* other = host_keys.data_ptr<int64_t>() + p * t;
        int64_t agree = 0;
        const int64_t limit = std::min(lengths[r], lengths[p]);
        while (agree < limit && own[agree] == other[agree]) ++agree;
        if (agree > shared) donor = p, shared = agree;
      }
    }
    for (int64_t s = 0; s < lengths[r]; ++s) {
      const int64_t slot = r * t + s;
      if (s < shared) {
        source[slot] = source[donor * t + s];
      } else {
        source[slot] = static_cast<int64_t>(tokens.size());
        tokens.push_back(slot);
      }
      real_tokens.push_back(source[slot]);
    }
  }
  TokenPacking packing;
  packing.tokens = torch::tensor(tokens, torch::kInt64);
  packing.source = torch::tensor(source, torch::kInt64);
  packing.real = torch::tensor(real_tokens, torch::kInt64);
  packing.batch = b;
  packing.length = t;
  return packing;
}

torch::Tensor input_keys(const torch::Tensor& ids, const std::vector<int64_t>& placeholder_tokens) {
  TORCH_CHECK(ids.dim() == 2, "input_keys: ids must be [B, T]");
  // Ids are non-negative: -(b + 1) is row b's alone.
  const torch::Tensor own =
      -(torch::arange(1, ids.size(0) + 1, ids.options().dtype(torch::kInt64)).unsqueeze(1));
  torch::Tensor keys = ids.to(torch::kInt64);
  for (int64_t token : placeholder_tokens) keys = torch::where(ids == token, own, keys);
  return keys;
}

}  // namespace gavamoe
