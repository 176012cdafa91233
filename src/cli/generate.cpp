// `gavamoe generate`: runs a Hugging Face Llama folder (config.json, safetensors,
// tokenizer.model) on one prompt, in float32 or (--dtype) bfloat16/float16. An exported
// explainer folder works too: its experts route by --cluster, and the prompt is plain text (no
// user/item placeholders). With --json,
// stdout is exactly one line {"prompt_ids": [...], "output_ids": [...], "text": "..."}: the
// model input (BOS first when the tokenizer settings say so, the Llama default), the new tokens
// (with the stop token), and the new text. Logs go to stderr.
#include <nlohmann/json.hpp>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/infer/generator.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/text/chat_template.hpp"
#include "gavamoe/text/tokenizer.hpp"

namespace gavamoe::cli {
namespace {

struct GenerateOptions {
  std::string model;
  std::string prompt;
  int64_t max_new_tokens = 30;
  std::string decode = "greedy";
  std::string prompt_template = "plain";
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

// The model of `dir` and, for an exported explainer, the routing of --cluster (both the hard
// cluster and its one-hot weights, so either gating works).
std::pair<Llama, Routing> load_model(const GenerateOptions& options) {
  if (!is_exported_explainer(options.model))
    return {load_llama(options.model, parse_dtype(options.dtype)), {}};
  Explainer explainer = load_exported_explainer(options.model, parse_dtype(options.dtype));
  const int64_t clusters = explainer->options.n_clusters;
  if (options.cluster < 0 || options.cluster >= clusters)
    throw Error("--cluster " + std::to_string(options.cluster) + " is not a cluster of " +
                options.model + " (it has " + std::to_string(clusters) + ")");
  const torch::Tensor cluster = torch::tensor({options.cluster});
  return {explainer->llama, {cluster, torch::one_hot(cluster, clusters).to(torch::kFloat32)}};
}

void run_generate(const GenerateOptions& options, const RunConfig&, uint64_t seed) {
  auto [model, routing] = load_model(options);
  const std::unique_ptr<Tokenizer> loaded_tokenizer = load_tokenizer(options.model);
  const Tokenizer& tokenizer = *loaded_tokenizer;
  const LlamaConfig& config = model->config;

  std::vector<int> prompt_ids = tokenizer.encode(
      render_chat(options.prompt_template, {{"user", options.prompt}}, true, tokenizer));
  // BOS as the tokenizer settings say, unless the template wrote it.
  if (tokenizer_adds_bos(options.model) && config.bos_token_id >= 0 &&
      (prompt_ids.empty() || prompt_ids.front() != config.bos_token_id))
    prompt_ids.insert(prompt_ids.begin(), config.bos_token_id);

  GenerationOptions generation;
  generation.max_new_tokens = options.max_new_tokens;
  generation.stop_tokens = config.eos_token_ids;
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
  log::info("generate: %zu prompt tokens, up to %lld new (%s)", prompt_ids.size(),
            static_cast<long long>(options.max_new_tokens), options.decode.c_str());
  const std::vector<int> output_ids = generate(model, {prompt_ids}, generation, routing).tokens[0];
  const std::string text = tokenizer.decode(output_ids, true);
  if (options.json) {
    const nlohmann::ordered_json line = {
        {"prompt_ids", prompt_ids}, {"output_ids", output_ids}, {"text", text}};
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
      root.add_subcommand("generate", "Run a Hugging Face Llama folder on a prompt");
  command
      ->add_option("--model", options->model,
                   "Folder with config.json, safetensors, tokenizer.model (a Llama or an exported "
                   "explainer)")
      ->required();
  command->add_option("--prompt", options->prompt, "Prompt text")->required();
  command->add_option("--max-new-tokens", options->max_new_tokens, "Most new tokens")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--decode", options->decode, "greedy, sample or beam")
      ->check(CLI::IsMember({"greedy", "sample", "beam"}));
  command
      ->add_option("--template", options->prompt_template,
                   "Chat template: auto (the model's own), plain, chatml, llama-3, llama-2, "
                   "mistral, vicuna or phi-3")
      ->check(CLI::IsMember(chat_template_names()));
  command->add_option("--temperature", options->temperature, "Sampling temperature")
      ->check(CLI::PositiveNumber);
  command->add_option("--top-k", options->top_k, "Sample among the k most likely (0: all)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--top-p", options->top_p, "Nucleus sampling threshold")
      ->check(CLI::Range(0.0, 1.0));
  command->add_option("--beams", options->beams, "Beams for --decode beam")
      ->check(CLI::PositiveNumber);
  command->add_option("--repetition-penalty", options->repetition_penalty, "1: off")
      ->check(CLI::PositiveNumber);
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
