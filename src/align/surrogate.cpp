// Surrogate: connectors, placeholder rows, LoRA on a frozen base, the summed answer loss and
// the run folder (surrogate.hpp). Shapes as there.
#include "gavamoe/align/surrogate.hpp"

#include <filesystem>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/model/trainable.hpp"

namespace gavamoe {
namespace {

namespace nn = torch::nn;
using nlohmann::json;

constexpr int64_t kIgnoredTarget = -100;

// Linear(D, C/2) -> GELU -> Linear(C/2, C), weights N(0, std), biases zero.
nn::Sequential connector(int64_t rec_dim, int64_t hidden, double std) {
  nn::Sequential c(nn::Linear(rec_dim, hidden / 2), nn::GELU(), nn::Linear(hidden / 2, hidden));
  torch::NoGradGuard no_grad;
  for (auto& item : c->named_parameters()) {
    if (item.key().find("weight") != std::string::npos)
      item.value().normal_(0.0, std);
    else
      item.value().zero_();
  }
  return c;
}

}  // namespace

json SurrogateOptions::to_json() const {
  return {{"variant", variant},
          {"rec_dim", rec_dim},
          {"lora_r", lora.rank},
          {"lora_alpha", lora.alpha},
          {"lora_dropout", lora.dropout}};
}

SurrogateOptions SurrogateOptions::from_json(const json& j, const std::string& origin) {
  SurrogateOptions o;
  o.variant = json_value<std::string>(j, "variant", origin);
  if (o.variant != "behaviour" && o.variant != "intention" && o.variant != "hybrid" &&
      o.variant != "none")
    throw Error(origin + ": variant '" + o.variant +
                "' is not behaviour, intention, hybrid or none");
  o.rec_dim = json_value<int64_t>(j, "rec_dim", origin);
  o.lora.rank = json_value<int64_t>(j, "lora_r", origin);
  o.lora.alpha = json_value<double>(j, "lora_alpha", origin);
  o.lora.dropout = json_value<double>(j, "lora_dropout", origin);
  if (o.lora.rank < 0) throw Error(origin + ": lora_r must not be negative");
  if (o.injects() && o.rec_dim < 1) throw Error(origin + ": rec_dim must be at least 1");
  return o;
}

SurrogateImpl::SurrogateImpl(Llama base, const SurrogateOptions& options_, int user_id_,
                             int item_id_, uint64_t seed)
    : options(options_), user_id(user_id_), item_id(item_id_) {
  llama = register_module("llama", std::move(base));
  for (auto& p : llama->parameters()) p.requires_grad_(false);
  const LlamaConfig& config = llama->config;
  const auto device = llama->embed_tokens->weight.device();
  const auto dtype = llama->embed_tokens->weight.scalar_type();
  torch::manual_seed(seed);
  if (options.variant != "none" && options.lora.rank > 0)
    for (const auto& layer : *llama->layers)
      layer->as<DecoderLayerImpl>()->self_attn->add_lora(options.lora);
  if (options.injects()) {
    const double std = config.initializer_range;
    user_connector =
        register_module("user_connector", connector(options.rec_dim, config.hidden_size, std));
    item_connector =
        register_module("item_connector", connector(options.rec_dim, config.hidden_size, std));
    user_connector->to(device, dtype);
    item_connector->to(device, dtype);
    auto row = [&] {
      return torch::randn({config.hidden_size}, torch::TensorOptions().dtype(dtype))
          .mul_(std)
          .to(device);
    };
    user_embedding = register_parameter("user_embedding", row());
    item_embedding = register_parameter("item_embedding", row());
  }
}

Placeholders SurrogateImpl::placeholders(const torch::Tensor& users, const torch::Tensor& items) {
  if (!options.injects()) return {};
  const auto& weight = user_embedding;
  std::vector<int64_t> tokens;
  std::vector<torch::Tensor> vectors;
  if (users.defined()) {
    tokens.push_back(user_id);
    vectors.push_back(
        (user_connector->forward(users.to(weight.device(), weight.scalar_type())) + user_embedding)
            .unsqueeze(1));
  }
  if (items.defined()) {
    for (int64_t s = 0; s < items.size(1); ++s) tokens.push_back(item_id + s);
    vectors.push_back(item_connector->forward(items.to(weight.device(), weight.scalar_type())) +
                      item_embedding);
  }
  if (tokens.empty()) return {};
  return {tokens, torch::cat(vectors, 1)};
}

// Right-padded rows go through plain causal attention: a real token never sees the padding
// after it.
torch::Tensor SurrogateImpl::hidden(const SurrogateBatch& batch) {
  const torch::Device device = llama->embed_tokens->weight.device();
  const torch::Tensor ids = batch.ids.to(device);
  const torch::Tensor positions =
      torch::arange(ids.size(1), ids.options()).unsqueeze(0).expand({ids.size(0), -1});
  return llama->hidden(llama->embed(ids, placeholders(batch.users, batch.items)), positions);
}

std::pair<torch::Tensor, int64_t> SurrogateImpl::loss(const SurrogateBatch& batch) {
  const torch::Device device = llama->embed_tokens->weight.device();
  // Only the real tokens pass through the layers ([N, C]), a prompt prefix that rows share
  // once, and the head runs on the target positions only: [N_targets, V] rather than [B, T, V].
  const torch::Tensor valid = batch.valid.to(device);
  const Placeholders injected = placeholders(batch.users, batch.items);
  const torch::Tensor h = llama->packed_hidden(llama->embed(batch.ids.to(device), injected), valid,
                                               {}, input_keys(batch.ids, injected.tokens));
  const torch::Tensor targets = batch.targets.to(device).index({valid});  // [N]
  const torch::Tensor scored = targets != kIgnoredTarget;
  const torch::Tensor logits = llama->head(h.index({scored})).to(torch::kFloat32);
  const torch::Tensor sum = torch::nn::functional::cross_entropy(
      logits, targets.index({scored}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  return {sum, logits.size(0)};
}

std::map<std::string, torch::Tensor> SurrogateImpl::trainable_parameters() {
  return gavamoe::trainable_parameters(*this);
}

int64_t SurrogateImpl::trainable_count() { return gavamoe::trainable_count(*this); }

void SurrogateImpl::load_trainable(const std::map<std::string, torch::Tensor>& tensors,
                                   const std::string& source) {
  load_trainable_parameters(*this, tensors, source);
}

json AlignRunInfo::to_json() const {
  return {{"format", "gavamoe-align"},
          {"options", options.to_json()},
          {"base_model", base_model},
          {"rec_run", rec_run},
          {"data", data},
          {"template", template_name},
          {"max_length", max_length},
          {"user_id", user_id},
          {"item_id", item_id}};
}

AlignRunInfo AlignRunInfo::from_json(const json& j, const std::string& source) {
  if (j.value("format", "") != "gavamoe-align")
    throw file_error(source, "is not an align run file (format is not gavamoe-align)");
  AlignRunInfo info;
  info.options = SurrogateOptions::from_json(json_value<json>(j, "options", source), source);
  info.base_model = json_value<std::string>(j, "base_model", source);
  info.rec_run = json_value<std::string>(j, "rec_run", source);
  info.data = json_value<std::string>(j, "data", source);
  info.template_name = json_value<std::string>(j, "template", source);
  info.max_length = json_value<int64_t>(j, "max_length", source);
  info.user_id = json_value<int>(j, "user_id", source);
  info.item_id = json_value<int>(j, "item_id", source);
  return info;
}

AlignRunInfo read_align_run_info(const std::string& run_dir) {
  const std::string path = run_dir + "/" + kAlignRunFile;
  if (!std::filesystem::is_directory(run_dir))
    throw file_error(run_dir, "is not a folder (an `align train` run folder was expected)");
  if (!std::filesystem::exists(path))
    throw file_error(run_dir, "is not an `align train` run (no align.json)");
  return AlignRunInfo::from_json(read_json_file(path), path);
}

AlignRun load_align_run(const std::string& run_dir, torch::Device device) {
  AlignRun run;
  run.dir = run_dir;
  run.info = read_align_run_info(run_dir);
  run.tokenizer = load_tokenizer(run_dir);
  run.model = Surrogate(load_pretrained_llama(run.info.base_model, torch::kFloat32, device),
                        run.info.options, run.info.user_id, run.info.item_id, 1);
  const std::string weights = run_dir + "/" + kSurrogateFile;
  if (run.info.options.variant != "none") {
    if (!std::filesystem::exists(weights))
      throw file_error(run_dir, "has no " + std::string(kSurrogateFile) +
                                    " (the training did not finish; resume it)");
    const SafetensorsReader reader(weights);
    std::map<std::string, torch::Tensor> tensors;
    for (const std::string& name : reader.names()) tensors[name] = reader.load(name);
    run.model->load_trainable(tensors, weights);
  }
  run.model->eval();
  return run;
}

}  // namespace gavamoe
