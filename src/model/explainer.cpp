// Explainer: MoE layers swapped into a Llama, placeholder projections, the summed loss,
// trainable sets, the export to the HF layout and the run-folder format.
// Shapes as in explainer.hpp: B records, T tokens, C hidden, V vocabulary, E VAE width.
#include "gavamoe/model/explainer.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/model/trainable.hpp"
#include "gavamoe/model/vae_gmm.hpp"

namespace gavamoe {
namespace {

namespace nn = torch::nn;
using nlohmann::json;

constexpr int64_t kIgnoredTarget = -100;

void check_options(const ExplainerOptions& o, const LlamaConfig& config) {
  auto fail = [](const std::string& what) { throw Error("explainer options: " + what); };
  std::set<int64_t> seen;
  for (int64_t layer : o.moe_layers) {
    if (layer < 0 || layer >= config.num_hidden_layers)
      fail("moe_layers entry " + std::to_string(layer) + " is not a layer of the " +
           std::to_string(config.num_hidden_layers) + "-layer model");
    if (!seen.insert(layer).second)
      fail("moe_layers lists layer " + std::to_string(layer) + " twice");
  }
  if (o.user_token < 0 || o.item_token < 0 || o.user_token == o.item_token)
    fail("user_token and item_token must be two different non-negative ids");
  if (o.n_experts < 0) fail("n_experts must not be negative");
  if (o.n_experts == 0 && !o.moe_layers.empty())
    fail("moe_layers lists layers, but n_experts is 0 (no MoE blocks)");
  if (o.load_balance_weight < 0) fail("load_balance_weight must not be negative");
  if (o.lora.rank < 0) fail("lora_r must not be negative");
}

// Parameters of the MoE blocks proper (experts, routers) inside the Llama: exported to
// explainer.safetensors, not to the HF checkpoint.
bool is_expert_parameter(const std::string& name) {
  return name.find(".mlp.experts.") != std::string::npos ||
         name.find(".mlp.routers.") != std::string::npos;
}
bool is_adapter_parameter(const std::string& name) {
  return name.find(".lora_A.") != std::string::npos || name.find(".lora_B.") != std::string::npos;
}

// HF name of a base parameter of the explainer's Llama: a shared MoE block's frozen MLP
// ("mlp.base.") is the layer's plain MLP, a LoRA base layer ("q_proj.base_layer.") the plain
// projection.
std::string base_hf_name(std::string name) {
  const std::pair<std::string, std::string> unwrap[] = {{".mlp.base.", ".mlp."},
                                                        {".base_layer.", "."}};
  for (const auto& [wrapped, plain] : unwrap) {
    const size_t at = name.find(wrapped);
    if (at != std::string::npos) name.replace(at, wrapped.size(), plain);
  }
  return hf_tensor_name(name);
}

// The part of the batch's routing that the gating reads: the clusters for hard gating, the
// cluster weights for soft. Only that part decides which records share a prompt prefix
// (Llama::packed_hidden): under hard gating two records of one cluster route alike whatever
// their weights.
Routing batch_routing(const ExplainerBatch& batch, const std::string& gating,
                      torch::Device device) {
  Routing routing;
  if (gating == "hard" && batch.routing.clusters.defined())
    routing.clusters = batch.routing.clusters.to(device);
  if (gating == "soft" && batch.routing.weights.defined())
    routing.weights = batch.routing.weights.to(device);
  return routing;
}

torch::Tensor batch_embeddings(ExplainerImpl& model, const ExplainerBatch& batch) {
  const torch::Tensor ids = batch.ids.to(model.user_table.device());
  return model.llama->embed(ids, model.placeholders(batch.users, batch.items));
}

// Right-padded rows go through plain causal attention: a real token never sees the padding
// after it, and the fused causal kernel beats an explicit mask.
torch::Tensor batch_hidden(ExplainerImpl& model, const ExplainerBatch& batch) {
  const torch::Device device = model.user_table.device();
  const torch::Tensor positions =
      torch::arange(batch.ids.size(1), torch::dtype(torch::kLong).device(device))
          .unsqueeze(0)
          .expand({batch.ids.size(0), -1});
  return model.llama->hidden(batch_embeddings(model, batch), positions, {}, nullptr,
                             batch_routing(batch, model.options.gating, device));
}

}  // namespace

json ExplainerOptions::to_json() const {
  return {{"n_experts", n_experts},
          {"expert_width", expert_width},
          {"top_k", top_k},
          {"n_clusters", n_clusters},
          {"gating", gating},
          {"base_ffn", base_ffn},
          {"moe_layers", moe_layers},
          {"load_balance_weight", load_balance_weight},
          {"pretrained_base", pretrained_base},
          {"lora_r", lora.rank},
          {"lora_alpha", lora.alpha},
          {"lora_dropout", lora.dropout},
          {"user_token", user_token},
          {"item_token", item_token}};
}

ExplainerOptions ExplainerOptions::from_json(const json& j) {
  const std::string origin = "explainer options";
  ExplainerOptions o;
  o.n_experts = json_value<int64_t>(j, "n_experts", origin);
  o.expert_width = json_value<int64_t>(j, "expert_width", origin);
  o.top_k = json_value<int64_t>(j, "top_k", origin);
  o.n_clusters = json_value<int64_t>(j, "n_clusters", origin);
  o.gating = json_value<std::string>(j, "gating", origin);
  o.base_ffn = json_value<std::string>(j, "base_ffn", origin);
  o.moe_layers = json_value<std::vector<int64_t>>(j, "moe_layers", origin);
  o.load_balance_weight = json_value<double>(j, "load_balance_weight", origin);
  o.pretrained_base = json_value<bool>(j, "pretrained_base", origin);
  o.lora.rank = json_value<int64_t>(j, "lora_r", origin);
  o.lora.alpha = json_value<double>(j, "lora_alpha", origin);
  o.lora.dropout = json_value<double>(j, "lora_dropout", origin);
  o.user_token = json_value<int>(j, "user_token", origin);
  o.item_token = json_value<int>(j, "item_token", origin);
  return o;
}

ExplainerImpl::ExplainerImpl(Llama base, const ExplainerOptions& options_,
                             const torch::Tensor& user_table_, const torch::Tensor& item_table_)
    : options(options_) {
  const LlamaConfig& config = base->config;
  check_options(options, config);
  llama = register_module("llama", std::move(base));
  const torch::Tensor& embedding = llama->embed_tokens->weight;
  const auto device = embedding.device();
  // The new parts of a pretrained base are float32 whatever the base's dtype (a frozen
  // bfloat16 base keeps its memory halved, the trained weights and AdamW's state full
  // precision); from scratch everything is in the base's dtype.
  const auto dtype = options.pretrained_base ? torch::kFloat32 : embedding.scalar_type();
  // Frozen before the new parts exist, so that only those train.
  if (options.pretrained_base)
    for (auto& p : llama->parameters()) p.requires_grad_(false);

  MoeFeedForwardOptions moe;
  moe.hidden = config.hidden_size;
  moe.n_experts = options.n_experts;
  moe.expert_width = options.expert_width;
  moe.n_clusters = options.n_clusters;
  moe.top_k = options.top_k;
  moe.gating = options.gating;
  moe.base_ffn = options.base_ffn;
  moe.load_balancing = options.load_balance_weight > 0;
  std::vector<int64_t> layers = options.moe_layers;
  if (layers.empty() && options.n_experts > 0)
    for (int64_t i = 0; i < config.num_hidden_layers; ++i) layers.push_back(i);
  std::sort(layers.begin(), layers.end());
  for (int64_t i : layers) {
    auto* layer = llama->layers[i]->as<DecoderLayerImpl>();
    MoeFeedForward block(moe, layer->mlp);
    block->experts->to(device, dtype);  // a shared base MLP stays as it is
    block->routers->to(device, dtype);
    layer->set_feed_forward(block.ptr());
    moe_blocks.push_back(block);
  }
  if (options.pretrained_base && options.lora.rank > 0)
    for (const auto& layer : *llama->layers) {
      auto& attention = layer->as<DecoderLayerImpl>()->self_attn;
      attention->add_lora(options.lora);
      for (LoraLinear* adapter :
           {&attention->q_lora, &attention->k_lora, &attention->v_lora, &attention->o_lora}) {
        (*adapter)->lora_A->to(device, dtype);
        (*adapter)->lora_B->to(device, dtype);
      }
    }
  // From scratch everything trains, the base MLP of a shared block included.
  if (!options.pretrained_base)
    for (auto& p : llama->parameters()) p.requires_grad_(true);

  const int64_t e = user_table_.size(1);
  TORCH_CHECK(item_table_.size(1) == e, "user and item tables must have the same width");
  user_projection = register_module("user_projection", nn::Linear(e, config.hidden_size));
  item_projection = register_module("item_projection", nn::Linear(e, config.hidden_size));
  user_projection->to(device, dtype);
  item_projection->to(device, dtype);
  // Copies: the VAE's own tables stay untouched whatever happens to these.
  user_table = register_buffer("user_table", user_table_.detach().clone().to(device));
  item_table = register_buffer("item_table", item_table_.detach().clone().to(device));
}

Placeholders ExplainerImpl::placeholders(const torch::Tensor& users, const torch::Tensor& items) {
  const auto dtype = user_projection->weight.scalar_type();
  const torch::Tensor user_rows = user_table.index_select(0, users.to(user_table.device()));
  const torch::Tensor item_rows = item_table.index_select(0, items.to(item_table.device()));
  const torch::Tensor vectors =
      torch::stack({user_projection(user_rows.to(dtype)), item_projection(item_rows.to(dtype))}, 1);
  return {{options.user_token, options.item_token}, vectors};
}

torch::Tensor ExplainerImpl::logits(const ExplainerBatch& batch) {
  return llama->head(batch_hidden(*this, batch)).to(torch::kFloat32);
}

ExplainerLoss ExplainerImpl::loss(const ExplainerBatch& batch) {
  const torch::Device device = user_table.device();
  // Only the real tokens pass through the layers ([N, C]), a prompt prefix that records of one
  // cluster share (the template's opening) once, and the head runs on the target positions
  // only: [N_targets, V] rather than [B, T, V]. Without MoE blocks the routing matters nowhere,
  // so every record shares.
  const torch::Tensor valid =
      batch.valid.defined()
          ? batch.valid.to(device, torch::kBool)
          : torch::ones(batch.ids.sizes(), torch::dtype(torch::kBool).device(device));
  const torch::Tensor hidden =
      llama->packed_hidden(batch_embeddings(*this, batch), valid, loss_routing(batch),
                           input_keys(batch.ids, {options.user_token, options.item_token}));
  const torch::Tensor targets = batch.targets.to(device).index({valid});  // [N]
  const torch::Tensor scored = targets != kIgnoredTarget;
  const torch::Tensor logits = llama->head(hidden.index({scored})).to(torch::kFloat32);
  ExplainerLoss result;
  result.tokens = logits.size(0);
  result.sum = torch::nn::functional::cross_entropy(
      logits, targets.index({scored}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  if (options.load_balance_weight > 0 && !moe_blocks.empty()) {
    std::vector<torch::Tensor> aux;
    for (const auto& block : moe_blocks) aux.push_back(block->last_aux_loss());
    result.aux = torch::stack(aux).mean();
    result.sum =
        result.sum + options.load_balance_weight * result.aux * static_cast<double>(result.tokens);
  }
  return result;
}

Routing ExplainerImpl::loss_routing(const ExplainerBatch& batch) {
  return moe_blocks.empty() ? Routing{} : batch_routing(batch, options.gating, user_table.device());
}

std::map<std::string, torch::Tensor> ExplainerImpl::trainable_parameters() {
  return gavamoe::trainable_parameters(*this);
}

int64_t ExplainerImpl::trainable_count() { return gavamoe::trainable_count(*this); }

int64_t ExplainerImpl::parameter_count() {
  int64_t count = 0;
  for (const auto& p : parameters()) count += p.numel();
  return count;
}

void ExplainerImpl::load_trainable(const std::map<std::string, torch::Tensor>& tensors,
                                   const std::string& source) {
  load_trainable_parameters(*this, tensors, source);
}

void ExplainerImpl::export_hf(const std::string& dir) {
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> hf, extra;
  for (const auto& item : llama->named_parameters()) {
    const std::string& name = item.key();
    if (is_adapter_parameter(name)) continue;
    if (is_expert_parameter(name))
      extra["llama." + name] = item.value();
    else
      hf[base_hf_name(name)] = item.value();
  }
  for (size_t i = 0; i < llama->layers->size(); ++i) {
    const auto& attention = llama->layers[i]->as<DecoderLayerImpl>()->self_attn;
    const std::string prefix = "model.layers." + std::to_string(i) + ".self_attn.";
    const std::pair<const char*, LoraLinear> adapters[] = {{"q_proj", attention->q_lora},
                                                           {"k_proj", attention->k_lora},
                                                           {"v_proj", attention->v_lora},
                                                           {"o_proj", attention->o_lora}};
    for (const auto& [name, adapter] : adapters)
      if (adapter) hf[prefix + name + ".weight"] = adapter->merge();
  }
  for (const auto& item : named_parameters())
    if (item.key().rfind("llama.", 0) != 0) extra[item.key()] = item.value();  // projections
  extra["user_table"] = user_table;
  extra["item_table"] = item_table;

  ExplainerOptions exported = options;
  exported.lora.rank = 0;  // merged into the base weights
  // In the wider of the base's and the trained parts' dtypes: a bfloat16 base exports as
  // float32, so that merged LoRA updates below bfloat16's resolution are kept.
  const auto dtype = torch::promote_types(llama->embed_tokens->weight.scalar_type(),
                                          user_projection->weight.scalar_type());
  for (auto& [name, tensor] : hf) tensor = tensor.to(dtype);
  save_hf_checkpoint(llama->config, dtype, hf, dir);
  write_safetensors(dir + "/explainer.safetensors", extra, {{"format", "pt"}});
  write_file_atomic(dir + "/explainer.json", json{{"options", exported.to_json()}}.dump(2) + "\n");
}

json ExplainerRunInfo::to_json() const {
  return {{"options", options.to_json()},
          {"base_model", base_model.empty() ? json(nullptr) : json(base_model)},
          {"base_dtype", base_dtype},
          {"model_config", model_config},
          {"vae_run", vae_run}};
}

ExplainerRunInfo ExplainerRunInfo::from_json(const json& j, const std::string& source) {
  ExplainerRunInfo info;
  try {
    if (!j.is_object()) throw Error("expected a JSON object");
    if (!j.contains("options")) throw Error("missing key 'options'");
    info.options = ExplainerOptions::from_json(j.at("options"));
    const json base = j.value("base_model", json(nullptr));
    if (!base.is_null() && !base.is_string()) throw Error("'base_model' must be a path or null");
    if (base.is_string()) info.base_model = base.get<std::string>();
    // Runs made before train.base_dtype existed have a float32 base.
    info.base_dtype = j.contains("base_dtype")
                          ? json_value<std::string>(j, "base_dtype", "run info")
                          : std::string("float32");
    parse_base_dtype(info.base_dtype);
    info.model_config = j.value("model_config", json(nullptr));
    info.vae_run = json_value<std::string>(j, "vae_run", "run info");
  } catch (const Error& e) {
    throw file_error(source, e.what());
  }
  if (info.base_model.empty() && !info.model_config.is_object())
    throw file_error(source, "a from-scratch run needs the 'model_config' object");
  if (info.base_model.empty() && info.base_dtype != "float32")
    throw file_error(source, "a from-scratch run has a float32 base, not " + info.base_dtype);
  if (info.base_model.empty() && info.options.pretrained_base)
    throw file_error(source, "options.pretrained_base is true but 'base_model' is null");
  return info;
}

torch::Dtype parse_base_dtype(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "bfloat16") return torch::kBFloat16;
  throw Error("base_dtype must be float32 or bfloat16, got \"" + name + "\"");
}

Explainer build_explainer(const ExplainerRunInfo& info, uint64_t seed, torch::Device device) {
  // The new parts (experts, routers, projections, adapters) draw from torch's global generator.
  torch::manual_seed(seed);
  TrainedVae vae = load_trained_vae(info.vae_run);
  if (vae.model->options.clusters != info.options.n_clusters)
    throw file_error(info.vae_run, "the VAE has " + std::to_string(vae.model->options.clusters) +
                                       " clusters, the explainer options say " +
                                       std::to_string(info.options.n_clusters));
  Llama base{nullptr};
  if (!info.base_model.empty()) {
    base = load_pretrained_llama(info.base_model, parse_base_dtype(info.base_dtype), device);
  } else {
    base = Llama(LlamaConfig::from_json(info.model_config, "model_config"));
    base->init_weights(seed);
    base->to(device);
  }
  Explainer explainer(base, info.options, vae.model->user_embedding->weight,
                      vae.model->item_embedding->weight);
  explainer->train();
  return explainer;
}

ExplainerRunInfo read_explainer_run_info(const std::string& run_dir) {
  const std::string path = run_dir + "/explainer.json";
  return ExplainerRunInfo::from_json(read_json_file(path), path);
}

Explainer load_explainer_run(const std::string& run_dir, torch::Device device) {
  const ExplainerRunInfo info = read_explainer_run_info(run_dir);
  Explainer explainer = build_explainer(info, 1, device);
  const std::string weights_path = run_dir + "/explainer.safetensors";
  const SafetensorsReader reader(weights_path);
  std::map<std::string, torch::Tensor> tensors;
  for (const std::string& name : reader.names()) tensors[name] = reader.load(name);
  explainer->load_trainable(tensors, weights_path);
  explainer->eval();
  return explainer;
}

Explainer load_exported_explainer(const std::string& dir, torch::Dtype dtype,
                                  torch::Device device) {
  const std::string info_path = dir + "/explainer.json";
  const json info = read_json_file(info_path);
  ExplainerOptions options;
  try {
    options = ExplainerOptions::from_json(info.at("options"));
  } catch (const json::exception&) {
    throw file_error(info_path, "missing key 'options'");
  } catch (const Error& e) {
    throw file_error(info_path, e.what());
  }
  const SafetensorsReader hf(dir + "/model.safetensors");
  const SafetensorsReader extra(dir + "/explainer.safetensors");
  for (const char* table : {"user_table", "item_table"})
    if (!extra.contains(table))
      throw file_error(extra.path(), std::string("missing tensor '") + table + "'");
  Llama base = make_llama(LlamaConfig::load(dir + "/config.json"), dtype, device);
  Explainer explainer(base, options, extra.load("user_table"), extra.load("item_table"));
  explainer->to(dtype);
  for (auto& item : explainer->named_parameters()) {
    const std::string& name = item.key();
    const bool in_base = name.rfind("llama.", 0) == 0 && !is_expert_parameter(name);
    const SafetensorsReader& reader = in_base ? hf : extra;
    const std::string stored = in_base ? base_hf_name(name.substr(6)) : name;
    if (!reader.contains(stored))
      throw file_error(reader.path(), "no tensor '" + stored + "' (the explainer needs it)");
    reader.load_into(stored, item.value());
  }
  explainer->eval();
  return explainer;
}

bool is_exported_explainer(const std::string& dir) {
  namespace fs = std::filesystem;
  return fs::is_regular_file(dir + "/explainer.json") && fs::is_regular_file(dir + "/config.json");
}

PromptOptions explainer_prompt_options(const ExplainerRunInfo& info, const Tokenizer& tokenizer,
                                       const std::string& template_name, int64_t max_length) {
  PromptOptions prompt;
  prompt.template_name = template_name;
  prompt.max_length = max_length;
  prompt.bos_id = tokenizer.bos_id();
  prompt.eos_id = tokenizer.eos_id();
  prompt.add_bos = prompt.bos_id >= 0 && (info.base_model.empty() || tokenizer.adds_bos());
  return prompt;
}

}  // namespace gavamoe
