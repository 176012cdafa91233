// Explaining records with a trained explainer run; see explain.hpp.
//
// Shapes: B records of a batch, K clusters.
#include "gavamoe/infer/explain.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/progress.hpp"
#include "gavamoe/model/memory_estimate.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/model/vae_predict.hpp"

namespace gavamoe {
namespace {

// A different sampling stream per batch: seeds s and s + 1 must not share streams shifted by
// one batch.
uint64_t batch_seed(uint64_t seed, int64_t batch) {
  return seed ^ (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(batch + 1));
}

struct Encoded {
  std::vector<int64_t> records;  // positions in the input of the records that fit
  std::vector<std::vector<int>> prompts;
  int64_t skipped = 0;
};

Encoded encode_prompts(const ExplainerRun& run, const std::vector<Record>& records) {
  Encoded encoded;
  for (size_t r = 0; r < records.size(); ++r) {
    const Record& record = records[r];
    if (!record.has_text)
      throw Error("infer: record " + std::to_string(r) + " (user '" + record.user + "', item '" +
                  record.item + "') has no text; the prompt needs its feature");
    std::vector<int> prompt = encode_prompt(*run.tokenizer, record, run.prompt);
    // Training keeps a record only when its prompt plus EOS fits max_length.
    if (static_cast<int64_t>(prompt.size()) + 1 > run.prompt.max_length) {
      ++encoded.skipped;
      continue;
    }
    encoded.records.push_back(static_cast<int64_t>(r));
    encoded.prompts.push_back(std::move(prompt));
  }
  return encoded;
}

// The new tokens as text, without the stop token that ended them.
std::string decode_generated(const Tokenizer& tokenizer, std::vector<int> tokens,
                             const std::vector<int>& stop_tokens) {
  if (!tokens.empty() &&
      std::find(stop_tokens.begin(), stop_tokens.end(), tokens.back()) != stop_tokens.end())
    tokens.pop_back();
  return tokenizer.decode(tokens, true);
}

// The explainer's weights and the generation of one batch: batch_size rows, or the beams of one
// prompt (beam search decodes one prompt at a time), of up to max_length + max_new_tokens.
MemoryEstimate inference_memory(const ExplainerRunInfo& info, const RunConfig& config) {
  const LlamaConfig base = explainer_base_config(info);
  const bool beam = config.get<std::string>("infer.decode") == "beam";
  const int64_t rows =
      beam ? config.get<int64_t>("infer.beams") : config.get<int64_t>("infer.batch_size");
  const int64_t length =
      config.get<int64_t>("train.max_length") + config.get<int64_t>("infer.max_new_tokens");
  const torch::Dtype base_dtype = parse_base_dtype(info.base_dtype);
  MemoryEstimate need = explainer_memory(base, info.options, base_dtype);
  need.work = generation_bytes(base, torch::kFloat32, std::max<int64_t>(rows, 1),
                               std::max<int64_t>(length, 1));
  return need;
}

}  // namespace

ExplainerRun load_explainer_for_inference(const std::string& run_dir,
                                          const std::vector<std::string>& overrides,
                                          torch::Device device) {
  for (const char* file : {"explainer.json", "explainer.safetensors", "config.json"})
    if (!std::filesystem::exists(run_dir + "/" + file))
      throw file_error(run_dir, std::string("not an explainer run folder (no ") + file +
                                    "; `gavamoe train` writes one)");
  ExplainerRun run;
  run.config.merge_file(run_dir + "/config.json");
  run.config.set_all(overrides);
  run.unknown_ids = parse_unknown_ids(run.config.get<std::string>("vae.unknown_ids"));
  const ExplainerRunInfo info = read_explainer_run_info(run_dir);
  require_memory(run_dir + ": the explainer and its decoding (infer.batch_size, infer.beams)",
                 inference_memory(info, run.config), device);
  run.explainer = load_explainer_run(run_dir, device);
  run.vae = load_trained_vae(info.vae_run, device);
  run.tokenizer = load_tokenizer(run_dir);
  run.prompt =
      explainer_prompt_options(info, *run.tokenizer, run.config.get<std::string>("train.template"),
                               run.config.get<int64_t>("train.max_length"));
  return run;
}

ExplainerRun load_zero_shot_explainer(const std::string& base_model, const std::string& vae_run,
                                      const RunConfig& config, torch::Device device) {
  require_vae_run(vae_run);
  ExplainerRun run;
  run.config = config;
  run.unknown_ids = parse_unknown_ids(config.get<std::string>("vae.unknown_ids"));
  run.vae = load_trained_vae(vae_run, device);
  run.tokenizer = load_pretrained_tokenizer(base_model);
  ExplainerRunInfo info;
  info.base_model = resolve_pretrained(base_model);
  info.base_dtype = config.get<std::string>("train.base_dtype");
  info.vae_run = vae_run;
  info.options.pretrained_base = true;
  info.options.n_experts = 0;  // every layer keeps the base's MLP
  info.options.lora.rank = 0;  // no adapters
  info.options.n_clusters = run.vae.model->options.clusters;
  const PlaceholderIds placeholders = placeholder_ids(*run.tokenizer);
  info.options.user_token = placeholders.user;
  info.options.item_token = placeholders.item;
  require_memory(info.base_model + ": the base and its decoding (infer.batch_size, infer.beams)",
                 inference_memory(info, config), device);
  run.explainer = build_explainer(info, 1, device);
  run.explainer->eval();
  run.prompt =
      explainer_prompt_options(info, *run.tokenizer, config.get<std::string>("train.template"),
                               config.get<int64_t>("train.max_length"));
  run.prompt.placeholders_as_words = true;
  return run;
}

ExplainOptions ExplainOptions::from_config(const RunConfig& config, uint64_t seed) {
  ExplainOptions options;
  GenerationOptions& generation = options.generation;
  const std::string decode = config.get<std::string>("infer.decode");
  if (decode != "greedy" && decode != "sample" && decode != "beam")
    throw Error("infer.decode: '" + decode + "' is not greedy, sample or beam");
  generation.sampling.sample = decode == "sample";
  generation.sampling.temperature = config.get<double>("infer.temperature");
  generation.sampling.top_k = config.get<int64_t>("infer.top_k");
  generation.sampling.top_p = config.get<double>("infer.top_p");
  generation.sampling.repetition_penalty = config.get<double>("infer.repetition_penalty");
  generation.num_beams = decode == "beam" ? config.get<int64_t>("infer.beams") : 1;
  generation.max_new_tokens = config.get<int64_t>("infer.max_new_tokens");
  generation.seed = seed;
  options.batch_size = config.get<int64_t>("infer.batch_size");
  if (options.batch_size < 1) throw Error("infer.batch_size: must be at least 1");
  if (generation.max_new_tokens < 1) throw Error("infer.max_new_tokens: must be at least 1");
  if (generation.sampling.temperature <= 0) throw Error("infer.temperature: must be positive");
  if (generation.num_beams < 1) throw Error("infer.beams: must be at least 1");
  return options;
}

double ExplainResult::records_per_second() const {
  return seconds > 0 ? static_cast<double>(rows.size()) / seconds : 0.0;
}

double ExplainResult::tokens_per_second() const {
  return seconds > 0 ? static_cast<double>(new_tokens) / seconds : 0.0;
}

ExplainResult explain_records(ExplainerRun& run, const std::vector<Record>& records,
                              const ExplainOptions& options) {
  const Encoded encoded = encode_prompts(run, records);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int64_t r : encoded.records) pairs.emplace_back(records[r].user, records[r].item);
  const std::vector<VaePrediction> vae = predict_pairs(run.vae, pairs, run.unknown_ids);

  // Training ended every example with the prompt's EOS; a pretrained base may also stop on
  // its config's end-of-sequence ids.
  GenerationOptions generation = options.generation;
  generation.stop_tokens.push_back(run.prompt.eos_id);
  for (int id : run.explainer->llama->config.eos_token_ids) generation.stop_tokens.push_back(id);

  torch::NoGradGuard no_grad;
  run.explainer->eval();
  const torch::Device device = run.explainer->llama->embed_tokens->weight.device();
  ExplainResult result;
  result.skipped = encoded.skipped;
  const auto n = static_cast<int64_t>(encoded.records.size());
  Progress progress("infer", n, "record");
  for (int64_t begin = 0, batch = 0; begin < n; begin += options.batch_size, ++batch) {
    const int64_t end = std::min(n, begin + options.batch_size);
    const std::vector<std::vector<int>> prompts(encoded.prompts.begin() + begin,
                                                encoded.prompts.begin() + end);
    std::vector<int64_t> users, items, clusters;
    std::vector<float> gamma;
    for (int64_t k = begin; k < end; ++k) {
      users.push_back(vae[k].user_row);
      items.push_back(vae[k].item_row);
      clusters.push_back(vae[k].assignment.cluster);
      gamma.insert(gamma.end(), vae[k].assignment.gamma.begin(), vae[k].assignment.gamma.end());
    }
    const int64_t b = end - begin;
    Routing routing;
    routing.clusters = torch::tensor(clusters, torch::kLong).to(device);
    routing.weights = torch::tensor(gamma, torch::kFloat).view({b, -1}).to(device);  // [B, K]
    generation.seed = batch_seed(options.generation.seed, batch);

    const auto start = std::chrono::steady_clock::now();
    const Placeholders placeholders =
        run.explainer->placeholders(torch::tensor(users, torch::kLong).to(device),
                                    torch::tensor(items, torch::kLong).to(device));
    const GenerationResult generated =
        generate(run.explainer->llama, prompts, generation, routing, placeholders);
    const double batch_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    result.seconds += batch_seconds;
    for (int64_t k = begin; k < end; ++k) {
      const Record& record = records[encoded.records[k]];
      const std::vector<int>& tokens = generated.tokens[k - begin];
      result.new_tokens += static_cast<int64_t>(tokens.size());
      PredictionRow row = prediction_row(
          record, vae[k], decode_generated(*run.tokenizer, tokens, generation.stop_tokens));
      row.latency_ms = 1000.0 * batch_seconds / static_cast<double>(b);
      result.rows.push_back(std::move(row));
    }
    progress.update(end);
  }
  progress.finish();
  return result;
}

}  // namespace gavamoe
