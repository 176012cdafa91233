// `gavamoe infer`: explanations for one subset of a dataset from a trained explainer run, or
// from a pretrained base with no training (the zero-shot baseline).
//
//   gavamoe infer --run RUN_DIR [--data PATH] [--split N] [--subset test] --out FILE
//                 [--format jsonl|csv|xlsx] [--decode greedy|sample|beam] [--temperature T]
//                 [--max-new-tokens N] [--batch-size B] [--limit N] [--device auto|cpu|cuda]
//   gavamoe infer --zero-shot --config CONFIG [--base-model NAME] --vae VAE_RUN --data PATH
//                 --out FILE [the options above]
// Settings come from the run's config.json (its `infer` section), then --set, then the options
// above; with --zero-shot from the defaults, --config and --set, the base from --base-model or
// train.base_model (see infer/explain.hpp load_zero_shot_explainer). Progress and warnings go to
// stderr; the throughput to stdout.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/infer/explain.hpp"

namespace gavamoe::cli {
namespace {

struct InferArgs {
  std::string run;
  bool zero_shot = false;
  std::string base_model;  // --zero-shot: empty means train.base_model
  std::string vae;         // --zero-shot: the VAE run for clusters and predicted ratings
  std::string data;        // empty: the run's data.path
  int split = 0;           // 0: the run's data.split
  std::string subset = "test";
  std::string out;
  std::string format;  // empty: from the extension of --out
  std::string device = "auto";
  int64_t limit = 0;  // 0: every record of the subset
  // Decoding options that override the run config's `infer` section when given.
  std::string decode;
  double temperature = 0, top_p = 0, repetition_penalty = 0;
  int64_t top_k = -1, beams = 0, max_new_tokens = 0, batch_size = 0;
};

torch::Device inference_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;
  torch::Device device = torch::kCPU;
  try {
    device = torch::Device(name);
  } catch (const c10::Error&) {
    throw Error("infer: --device '" + name + "' is not auto, cpu, cuda or cuda:N");
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    throw Error("infer: --device " + name + " but no CUDA device is available");
  return device;
}

// The options given on the command line as assignments, after `sets` (the --set ones).
std::vector<std::string> config_overrides(const InferArgs& args, std::vector<std::string> sets) {
  auto set = [&](const char* key, const nlohmann::json& value) {
    sets.push_back(std::string(key) + "=" + value.dump());
  };
  if (!args.data.empty()) set("data.path", args.data);
  if (args.split > 0) set("data.split", args.split);
  if (!args.decode.empty()) set("infer.decode", args.decode);
  if (args.temperature > 0) set("infer.temperature", args.temperature);
  if (args.top_k >= 0) set("infer.top_k", args.top_k);
  if (args.top_p > 0) set("infer.top_p", args.top_p);
  if (args.beams > 0) set("infer.beams", args.beams);
  if (args.repetition_penalty > 0) set("infer.repetition_penalty", args.repetition_penalty);
  if (args.max_new_tokens > 0) set("infer.max_new_tokens", args.max_new_tokens);
  if (args.batch_size > 0) set("infer.batch_size", args.batch_size);
  return sets;
}

std::vector<Record> subset_records(const RunConfig& config, const std::string& path,
                                   const std::string& subset_name, int64_t limit) {
  const Dataset data = load_command_dataset(config, path);
  data.require_text("infer");
  std::vector<int64_t> positions = data.subset(parse_subset(subset_name));
  if (positions.empty()) throw file_error(path, "subset '" + subset_name + "' has no records");
  if (limit > 0 && limit < static_cast<int64_t>(positions.size())) positions.resize(limit);
  std::vector<Record> records;
  records.reserve(positions.size());
  for (int64_t r : positions) records.push_back(data.records[r]);
  return records;
}

// The zero-shot baseline's explainer: the base of --base-model or train.base_model.
// `config`: the defaults, --config and --set (setup_run).
ExplainerRun zero_shot_explainer(const InferArgs& args, RunConfig config) {
  if (args.vae.empty())
    throw Error("infer: --zero-shot needs --vae (the VAE run giving clusters and ratings)");
  config.set_all(config_overrides(args, {}));
  std::string base = args.base_model;
  if (base.empty()) {
    const nlohmann::json& configured = config.at("train.base_model");
    if (!configured.is_string())
      throw Error(
          "infer: --zero-shot needs a pretrained base: --base-model, or train.base_model "
          "in --config");
    base = configured.get<std::string>();
  }
  return load_zero_shot_explainer(base, args.vae, config, inference_device(args.device));
}

void run_infer(const InferArgs& args, const CommonOptions& common) {
  RunConfig config = setup_run(common);
  if (args.zero_shot == !args.run.empty())
    throw Error("infer: give either --run (a trained explainer) or --zero-shot");
  if (!args.zero_shot) {
    if (!common.config.empty())
      throw Error("infer: the run folder's config.json is the config; change keys with --set");
    if (!args.base_model.empty() || !args.vae.empty())
      throw Error("infer: --base-model and --vae are for --zero-shot; a run has its own");
  }
  const PredictionFormat format = prediction_format_for(args.out, args.format);
  ExplainerRun run =
      args.zero_shot ? zero_shot_explainer(args, std::move(config))
                     : load_explainer_for_inference(args.run, config_overrides(args, common.sets),
                                                    inference_device(args.device));
  const ExplainOptions options = ExplainOptions::from_config(run.config, common.seed);
  // --data, else the run's data.path: an error about the latter names the run's config.json
  // (or, zero-shot, the --config file).
  const std::string config_path = !args.zero_shot         ? args.run + "/config.json"
                                  : common.config.empty() ? std::string("--config")
                                                          : common.config;
  const std::string data_path =
      args.data.empty() ? run_data_path(run.config, config_path) : args.data;
  const std::vector<Record> records =
      subset_records(run.config, data_path, args.subset, args.limit);
  refuse_output_over_inputs(
      "--out", args.out,
      {{data_path, "the dataset"},
       args.zero_shot ? ReadPath{args.vae, "the VAE run"} : ReadPath{args.run, "the run folder"}});
  log::info("infer: %zu records of %s, %s decoding, batches of %lld", records.size(),
            args.subset.c_str(), run.config.get<std::string>("infer.decode").c_str(),
            static_cast<long long>(options.batch_size));

  const ExplainResult result = explain_records(run, records, options);
  if (result.skipped > 0)
    log::warn(
        "infer: %lld of %zu records skipped: their prompt alone is longer than "
        "train.max_length (%lld tokens)",
        static_cast<long long>(result.skipped), records.size(),
        static_cast<long long>(run.prompt.max_length));
  if (result.rows.empty()) throw Error("infer: no record left to explain");
  remove_stale_temporaries_of(args.out);
  write_predictions(args.out, result.rows, format);
  std::printf("records %zu  skipped %lld  generation %.2f s  %.2f records/s  %.1f tokens/s\n",
              result.rows.size(), static_cast<long long>(result.skipped), result.seconds,
              result.records_per_second(), result.tokens_per_second());
  std::printf("wrote %s\n", args.out.c_str());
}

}  // namespace

void register_infer(CLI::App& root, CommonOptions& common) {
  CLI::App* command = root.add_subcommand("infer", "Generate explanations for a data subset");
  auto args = std::make_shared<InferArgs>();
  command->add_option("--run", args->run, "Explainer run folder (gavamoe train --out)");
  command->add_flag("--zero-shot", args->zero_shot,
                    "No trained run: the pretrained base alone, placeholders written as words");
  command->add_option("--base-model", args->base_model,
                      "--zero-shot: the base (default: train.base_model of --config)");
  command->add_option("--vae", args->vae, "--zero-shot: VAE run for clusters and ratings");
  command->add_option("--data", args->data, "Dataset (default: the run's data.path)");
  command->add_option("--split", args->split, "Fold 1..5 (default: the run's data.split)")
      ->check(integer_from_to(1, 5));
  command->add_option("--subset", args->subset, "train, validation or test")
      ->check(CLI::IsMember({"train", "validation", "test"}));
  command->add_option("--out", args->out, "Predictions file (.jsonl, .csv or .xlsx)")->required();
  command->add_option("--format", args->format, "jsonl, csv or xlsx (default: from --out)")
      ->check(CLI::IsMember({"jsonl", "csv", "xlsx"}));
  command->add_option("--decode", args->decode, "greedy, sample or beam (infer.decode)")
      ->check(CLI::IsMember({"greedy", "sample", "beam"}));
  command->add_option("--temperature", args->temperature, "Sampling temperature")
      ->check(number_above(0));
  command->add_option("--top-k", args->top_k, "Sample among the k most likely (0: all)")
      ->check(integer_at_least(0));
  command->add_option("--top-p", args->top_p, "Nucleus sampling threshold")
      ->check(number_from_to(0, 1));
  command->add_option("--beams", args->beams, "Beams for --decode beam")
      ->check(integer_at_least(1));
  command->add_option("--repetition-penalty", args->repetition_penalty, "1: off")
      ->check(number_above(0));
  command->add_option("--max-new-tokens", args->max_new_tokens, "Most new tokens per record")
      ->check(integer_at_least(1));
  command->add_option("--batch-size", args->batch_size, "Records per generation batch")
      ->check(integer_at_least(1));
  command->add_option("--limit", args->limit, "Only the first N records of the subset")
      ->check(integer_at_least(1));
  command->add_option("--device", args->device, "auto (CUDA when available), cpu, cuda, cuda:N");
  add_common_options(command, common);
  command->callback([args, &common] { run_infer(*args, common); });
}

}  // namespace gavamoe::cli
