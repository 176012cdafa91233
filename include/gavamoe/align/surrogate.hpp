// Surrogate: RecExplainer's LLM aligned to a target recommender (spec section 4).
//
// A pretrained Llama, frozen, with LoRA on q/k/v/o, and for the intention and hybrid variants
// two connectors Linear(D, C/2) -> GELU (erf) -> Linear(C/2, C) that map the recommender's user
// and item vectors into the LLM's embedding space. A connector's output is added to the
// placeholder's own trainable embedding row (user_embedding / item_embedding [C]), at every
// occurrence; the k-th <item> of a prompt takes the k-th item vector. The placeholders are ids
// beyond the vocabulary (alignment_prompt.hpp), so the base's tied embedding/head table is
// untouched and only the two new rows train (the original trains the whole table and head; with
// SmolLM2's tied 49,152 x 576 table that would be 28M more trainable weights, most of them rows
// no alignment prompt needs). New rows and connector weights start at N(0, initializer_range),
// biases at zero, as transformers initialises them.
// Variants: behaviour (titles only) has no connectors and no placeholder rows: LoRA only;
// none is the base model as it is (no LoRA), the baseline evaluated on behaviour prompts.
//
// Shapes: B samples, T tokens, S item slots, C hidden, V vocabulary, D recommender width.
// Parameter names: llama.<Llama names> (LoRA: ...q_proj.lora_A.weight), user_connector.0.weight,
// user_connector.2.weight (and .bias), item_connector.*, user_embedding, item_embedding.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "gavamoe/model/llama.hpp"
#include "gavamoe/model/lora.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe {

struct SurrogateOptions {
  std::string variant = "hybrid";  // behaviour | intention | hybrid | none
  int64_t rec_dim = 0;             // D; used by intention and hybrid
  LoraOptions lora{16, 32.0, 0.05};

  bool injects() const { return variant == "intention" || variant == "hybrid"; }
  nlohmann::json to_json() const;
  static SurrogateOptions from_json(const nlohmann::json& j, const std::string& origin);
};

// One batch of right-padded samples.
struct SurrogateBatch {
  torch::Tensor ids;      // [B, T] int64 (padding: any valid id)
  torch::Tensor valid;    // [B, T] bool, real tokens (each row's first)
  torch::Tensor targets;  // [B, T] int64: the next token where the loss applies, else -100
  torch::Tensor users;    // [B, D] float32 user vectors (undefined: no prompt has <user>)
  torch::Tensor items;    // [B, S, D] float32 slot vectors (undefined: no prompt has <item>)
};

struct SurrogateImpl : torch::nn::Module {
  // `user_id` / `item_id`: the placeholder ids (item slots item_id .. item_id + S - 1).
  SurrogateImpl(Llama base, const SurrogateOptions& options, int user_id, int item_id,
                uint64_t seed);

  // The placeholder vectors of a batch, for Llama::embed / generate.
  Placeholders placeholders(const torch::Tensor& users, const torch::Tensor& items);
  torch::Tensor hidden(const SurrogateBatch& batch);  // [B, T, C]
  // Summed token cross-entropy over the targets (float32 scalar) and the number of targets.
  std::pair<torch::Tensor, int64_t> loss(const SurrogateBatch& batch);

  std::map<std::string, torch::Tensor> trainable_parameters();
  int64_t trainable_count();
  void load_trainable(const std::map<std::string, torch::Tensor>& tensors,
                      const std::string& source);

  SurrogateOptions options;
  int user_id, item_id;
  Llama llama{nullptr};
  torch::nn::Sequential user_connector{nullptr}, item_connector{nullptr};
  torch::Tensor user_embedding, item_embedding;  // [C]
};
TORCH_MODULE(Surrogate);

// An `align train` run folder:
//   align.json             {"format": "gavamoe-align", "options": SurrogateOptions,
//                           "base_model": resolved path, "rec_run", "data" (align data folder),
//                           "template", "max_length", "user_id", "item_id"}
//   surrogate.safetensors  trainable_parameters() of the best validation (absent for none)
//   tokenizer.json, tokenizer_config.json   the base's tokenizer (load_tokenizer(run_dir))
//   config.json, train.log, train_log.jsonl, checkpoint/, metrics.json
constexpr const char* kAlignRunFile = "align.json";
constexpr const char* kSurrogateFile = "surrogate.safetensors";

struct AlignRunInfo {
  SurrogateOptions options;
  std::string base_model, rec_run, data, template_name;
  int64_t max_length = 512;
  int user_id = -1, item_id = -1;
  nlohmann::json to_json() const;
  static AlignRunInfo from_json(const nlohmann::json& j, const std::string& source);
};
// run_dir/align.json; a folder that is not an align run is one clear error naming it.
AlignRunInfo read_align_run_info(const std::string& run_dir);

struct AlignRun {
  std::string dir;
  AlignRunInfo info;
  Surrogate model{nullptr};  // eval mode, trained weights loaded
  std::shared_ptr<Tokenizer> tokenizer;
};
AlignRun load_align_run(const std::string& run_dir, torch::Device device = torch::kCPU);

}  // namespace gavamoe
