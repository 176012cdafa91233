// `gavamoe generate`: runs a pretrained model on one prompt, in float32 or (--dtype)
// bfloat16/float16. --model is anything model/pretrained.hpp resolves: the alias "smollm2", a
// GGUF file, or a Hugging Face folder (config.json, safetensors, tokenizer.json or
// tokenizer.model); an exported explainer folder works too (its experts route by --cluster,
// the prompt is plain text without user/item placeholders).
//
// Without --chat the prompt is encoded as given (BOS first when the tokenizer adds BOS). With
// --chat (implied by a --template other than plain) it is one user turn, after an optional
// --system turn, rendered by the chat template (--template, default auto: the model's own) and
// encoded without a second BOS. Generation stops after the tokenizer's end-of-generation ids or
// the config's EOS. With --json, stdout is exactly one line {"prompt_ids": [...],
// "output_ids": [...], "text": "..."}: the model input, the new tokens (with the stop token),
// and the new text (special tokens left out). Logs go to stderr.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/memory_estimate.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/text/chat_template.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe::cli {
namespace {

struct GenerateOptions {
  std::string model;
  std::string prompt;
  int64_t max_new_tokens = 30;
  std::string decode = "greedy";
  std::string prompt_template;  // "": plain, or auto with --chat
  bool chat = false;
  std::string system;
  double temperature = 0.7;
  int64_t top_k = 0;
  double top_p = 1.0;
  int64_t beams = 4;
  double repetition_penalty = 1.0;
  std::string dtype = "float32";
  int64_t cluster = 0;
  bool json = false;
};

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "bfloat16") return torch::kBFloat16;
  if (name == "float16") return torch::kHalf;
  return torch::kFloat32;
}

// The model, its tokenizer and, for an exported explainer, the routing of --cluster (both the
// hard cluster and its one-hot weights, so either gating works).
struct LoadedModel {
  Llama model{nullptr};
  std::shared_ptr<Tokenizer> tokenizer;
  Routing routing;
};

// Refuses, before any weight is read, a model and generation that cannot fit in memory. The
// prompt's bytes bound its tokens (every tokenizer here has byte fallback or byte-level BPE).
void require_generation_memory(const GenerateOptions& options, torch::Dtype dtype) {
  const bool exported = is_exported_explainer(options.model);
  const LlamaConfig config = exported ? LlamaConfig::load(options.model + "/config.json")
                                      : load_pretrained_config(options.model);
  const int64_t rows = options.decode == "beam" ? options.beams : 1;
  const auto length =
      static_cast<int64_t>(options.prompt.size() + options.system.size()) + options.max_new_tokens;
  MemoryEstimate need;
  need.weights = llama_weight_bytes(config, dtype);
  need.work =
      generation_bytes(config, dtype, rows, std::min(length, config.max_position_embeddings));
  require_memory("generate: " + options.model, need, torch::kCPU);
}

LoadedModel load_model(const GenerateOptions& options) {
  const torch::Dtype dtype = parse_dtype(options.dtype);
  require_generation_memory(options, dtype);
  if (!is_exported_explainer(options.model)) {
    PretrainedModel pretrained = load_pretrained(options.model, dtype);
    return {pretrained.model, pretrained.tokenizer, {}};
  }
  Explainer explainer = load_exported_explainer(options.model, dtype);
  const int64_t clusters = explainer->options.n_clusters;
  if (options.cluster < 0 || options.cluster >= clusters)
    throw Error("--cluster " + std::to_string(options.cluster) + " is not a cluster of " +
                options.model + " (it has " + std::to_string(clusters) + ")");
  const torch::Tensor cluster = torch::tensor({options.cluster});
  return {explainer->llama,
          load_tokenizer(options.model),
          {cluster, torch::one_hot(cluster, clusters).to(torch::kFloat32)}};
}

// The model input: the prompt as given, or rendered as a chat.
std::vector<int> prompt_ids(const GenerateOptions& options, const Tokenizer& tokenizer) {
  const bool chat =
      options.chat || (!options.prompt_template.empty() && options.prompt_template != "plain");
  if (!chat) {
    if (!options.system.empty()) throw Error("--system needs --chat");
    return encode_chat_prompt(tokenizer, options.prompt);
  }
  std::vector<ChatMessage> messages;
  if (!options.system.empty()) messages.push_back({"system", options.system});
  messages.push_back({"user", options.prompt});
  const std::string name = resolve_chat_template(
      options.prompt_template.empty() ? "auto" : options.prompt_template, tokenizer);
  const std::string rendered = render_chat(name, messages, true, tokenizer);
  log::debug("generate: chat template %s renders %s", name.c_str(), rendered.c_str());
  return encode_chat_prompt(tokenizer, rendered);
}

// Stop after the tokenizer's end-of-turn ids and the config's EOS, each once.
std::vector<int> stop_tokens(const Tokenizer& tokenizer, const LlamaConfig& config) {
  std::vector<int> stops = tokenizer.end_of_generation_ids();
  for (int id : config.eos_token_ids)
    if (std::find(stops.begin(), stops.end(), id) == stops.end()) stops.push_back(id);
  return stops;
}

void run_generate(const GenerateOptions& options, const RunConfig&, uint64_t seed) {
  LoadedModel loaded = load_model(options);
  const Tokenizer& tokenizer = *loaded.tokenizer;
  Llama& model = loaded.model;
  const std::vector<int> prompt = prompt_ids(options, tokenizer);

  GenerationOptions generation;
  generation.max_new_tokens = options.max_new_tokens;
  generation.stop_tokens = stop_tokens(tokenizer, model->config);
  generation.seed = seed;
  generation.sampling.repetition_penalty = options.repetition_penalty;
  if (options.decode == "sample") {
    generation.sampling.sample = true;
    generation.sampling.temperature = options.temperature;
    generation.sampling.top_k = options.top_k;
    generation.sampling.top_p = options.top_p;
  } else if (options.decode == "beam") {
    generation.num_beams = options.beams;
  }
  log::info("generate: %zu prompt tokens, up to %lld new (%s)", prompt.size(),
            static_cast<long long>(options.max_new_tokens), options.decode.c_str());
  const std::vector<int> output_ids =
      generate(model, {prompt}, generation, loaded.routing).tokens[0];
  const std::string text = tokenizer.decode(output_ids, true);
  if (options.json) {
    const nlohmann::ordered_json line = {
        {"prompt_ids", prompt}, {"output_ids", output_ids}, {"text", text}};
    std::printf(
        "%s\n",
        line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s\n", text.c_str());
  }
}

}  // namespace

void register_generate(CLI::App& root, CommonOptions& common) {
  auto options = std::make_shared<GenerateOptions>();
  CLI::App* command =
      root.add_subcommand("generate", "Run a pretrained model (GGUF, Hugging Face) on a prompt");
  command
      ->add_option("--model", options->model,
                   "smollm2, a .gguf file, or a Hugging Face folder (config.json, safetensors, "
                   "tokenizer.json or tokenizer.model; a Llama or an exported explainer)")
      ->required();
  command->add_option("--prompt", options->prompt, "Prompt text (with --chat: the user turn)")
      ->required();
  command->add_flag("--chat", options->chat,
                    "Render the prompt as a user turn with the chat template (--template)");
  command->add_option("--system", options->system, "System turn before the prompt (--chat)");
  command->add_option("--max-new-tokens", options->max_new_tokens, "Most new tokens")
      ->check(integer_at_least(0));
  command->add_option("--decode", options->decode, "greedy, sample or beam")
      ->check(CLI::IsMember({"greedy", "sample", "beam"}));
  command
      ->add_option("--template", options->prompt_template,
                   "Chat template: auto (the model's own; the default with --chat), plain (the "
                   "default without), chatml, llama-3, llama-2, mistral, vicuna or phi-3")
      ->check(CLI::IsMember(chat_template_names()));
  command->add_option("--temperature", options->temperature, "Sampling temperature")
      ->check(number_above(0));
  command->add_option("--top-k", options->top_k, "Sample among the k most likely (0: all)")
      ->check(integer_at_least(0));
  command->add_option("--top-p", options->top_p, "Nucleus sampling threshold")
      ->check(number_from_to(0, 1));
  command->add_option("--beams", options->beams, "Beams for --decode beam")
      ->check(integer_at_least(1));
  command->add_option("--repetition-penalty", options->repetition_penalty, "1: off")
      ->check(number_above(0));
  command
      ->add_option("--dtype", options->dtype,
                   "Weights and activations: float32, bfloat16 or float16 (norms, softmax and "
                   "sampling stay float32)")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  command->add_option("--cluster", options->cluster,
                      "Cluster whose routers an exported explainer uses (default 0)");
  command->add_flag("--json", options->json, "Print one JSON line with ids and text");
  add_common_options(command, common);
  command->callback([options, &common] {
    const RunConfig config = setup_run(common);
    run_generate(*options, config, common.seed);
  });
}

}  // namespace gavamoe::cli
