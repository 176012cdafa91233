// gavamoe align: RecExplainer's alignment of an LLM to the target recommender.
//
//   gavamoe align data --rec RUN --labels DIR --out DIR [--data DIR] [--variant V]
//                      [--max-train-per-user N] [--general FILE [--general-ratio R]] [--seed S]
// builds the alignment-task samples (align/alignment_data.hpp) of the variants from the
// recommender's label files (`rec label`) and its sequence folder (the run's, or --data), with
// a user's chat data mixed in (align/general_instructions.hpp).
//
//   gavamoe align train --data ALIGN_DIR --variant V --out RUN [--rec RUN] [--base-model M]
//                       [--config F] [--set align.k=v] [--nproc N]  |  --resume RUN [--nproc N]
// trains the surrogate of variant V (align/align_trainer.hpp); V none writes a run of the
// plain base model, the baseline. --nproc N: N data-parallel worker processes (command.hpp).
//
//   gavamoe align eval --run RUN [--tasks T1,T2] [--max-samples N] [--max-new-tokens N]
// scores the run on its variant's validation samples (align/align_eval.hpp) and prints the
// table with each metric's chance level.
//
//   gavamoe align explain --run RUN --out FILE.jsonl|csv|xlsx [--split valid|train|both]
//                         [--max-samples N] [--max-new-tokens N] [--min-new-tokens N]
// answers the explanation prompt (align/align_explain.hpp);
//   gavamoe align judge --explanations NAME=FILE ... --data SEQ_DIR --out FILE.json
//                       [--judge-model M [--judge-max-new-tokens N] [--judge-rows N]]
//                       [--encoder-model E [--encoder-max-tokens N]]
// judges the explanations of one or more explainers (align/align_judge.hpp), with M as the
// local judge model of the original's GPT-4 prompt and E as the discriminators' text encoder
// when given.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "gavamoe/align/align_eval.hpp"
#include "gavamoe/align/align_explain.hpp"
#include "gavamoe/align/align_judge.hpp"
#include "gavamoe/align/align_trainer.hpp"
#include "gavamoe/align/alignment_data.hpp"
#include "gavamoe/align/general_instructions.hpp"
#include "gavamoe/align/surrogate.hpp"
#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/rec/rec_run.hpp"
#include "gavamoe/train/data_parallel.hpp"

namespace gavamoe::cli {
namespace {

struct AlignDataArgs {
  std::string rec;
  std::string labels;
  std::string data;
  std::string out;
  std::string variant = "all";
  int64_t max_train_per_user = 0;
  std::string general;
  double general_ratio = 0.1;
};

void run_align_data(const AlignDataArgs& args, const CommonOptions& common) {
  setup_run(common);
  const auto variants = parse_align_variants(args.variant, "--variant");
  const RecRun run = load_rec_run(args.rec);
  const SequenceDataset data =
      args.data.empty() ? load_run_data(run) : read_sequence_folder(args.data);
  if (data.n_items() != run.recommender->n_items())
    throw file_error(data.path, "has " + std::to_string(data.n_items() - 1) +
                                    " items, the recommender of " + args.rec + " " +
                                    std::to_string(run.recommender->n_items() - 1));
  const LabelFiles labels = read_label_files(args.labels, data);
  AlignDataOptions options;
  options.pipeline = run.model;
  options.max_train_per_user = args.max_train_per_user;
  options.seed = common.seed;
  const GeneralInstructions general =
      args.general.empty() ? GeneralInstructions{} : read_general_instructions(args.general);
  AlignData samples = make_alignment_data(data, labels, options);
  const auto [general_train, general_valid] =
      mix_general_instructions(samples, general, args.general_ratio, options.seed);
  if (!args.general.empty())
    log::info(
        "align data: %lld of %lld conversations kept from %s; %lld mixed into training, "
        "%lld into validation",
        static_cast<long long>(general.conversations.size()), static_cast<long long>(general.read),
        args.general.c_str(), static_cast<long long>(general_train),
        static_cast<long long>(general_valid));
  // Absolute, so that align train finds them from any folder.
  auto absolute = [](const std::string& path) {
    return std::filesystem::absolute(path).lexically_normal().string();
  };
  nlohmann::json info = {
      {"rec_run", absolute(args.rec)},
      {"labels", absolute(args.labels)},
      {"data", absolute(data.path)},
      {"pipeline", options.pipeline},
      {"max_history", options.max_history},
      {"max_train_per_user", options.max_train_per_user},
      {"seed", options.seed},
      {"general", args.general.empty() ? nlohmann::json() : nlohmann::json(absolute(args.general))},
      {"general_ratio", args.general.empty() ? 0.0 : args.general_ratio}};
  write_alignment_data(args.out, samples, variants, info);
  const nlohmann::json counts = alignment_counts(samples, variants);
  for (AlignVariant variant : variants) {
    const char* name = align_variant_name(variant);
    std::printf("%-9s train %7lld  valid %6lld\n", name,
                static_cast<long long>(counts["train"][name]["total"].get<int64_t>()),
                static_cast<long long>(counts["valid"][name]["total"].get<int64_t>()));
  }
  log::info("align data: %s pipeline, samples in %s", options.pipeline.c_str(), args.out.c_str());
}

struct AlignTrainArgs {
  std::string data;
  std::string variant;
  std::string rec;
  std::string base_model;
  std::string out;
  std::string resume;
  int nproc = 1;
};

void run_align_train(const AlignTrainArgs& args, const CommonOptions& common) {
  if (run_as_launcher("align train", args.nproc, common)) return;
  RunConfig config = setup_worker_run(common);
  const bool resume = !args.resume.empty();
  const std::string run_dir = resume ? args.resume : args.out;
  if (resume) {
    read_align_run_info(run_dir);
    config = resumed_run_config("align train", run_dir, common);
  } else {
    if (args.data.empty()) throw Error("align train: --data ALIGN_DIR is required");
    if (args.variant.empty())
      throw Error("align train: --variant behaviour|intention|hybrid|none is required");
    if (!args.base_model.empty())
      config.set("align.base_model=" + nlohmann::json(args.base_model).dump());
    require_new_run_folder("align train", run_dir, {"checkpoint", kAlignRunFile, kSurrogateFile});
    config.check("align train");
  }
  AlignTrainOptions options = AlignTrainOptions::from_config(config, common.seed);
  options.variant = args.variant;
  options.data = args.data;
  options.rec_run = args.rec;
  const std::unique_ptr<DataParallel> parallel = join_workers(options.device, "align.device");
  const nlohmann::json metrics = train_surrogate(
      options, run_dir, resume,
      [&] {
        remove_stale_temporaries(run_dir);
        if (!resume) config.write(run_dir + "/config.json");
        log::set_file(run_dir + "/train.log");
      },
      parallel.get());
  log::set_file("");
  if (metrics.value("stopped", false) || !is_main_worker()) return;
  std::printf("variant               %s\n", metrics.at("variant").get<std::string>().c_str());
  std::printf("trainable parameters  %lld\n",
              static_cast<long long>(metrics.at("trainable_parameters").get<int64_t>()));
  if (metrics.contains("validation") && metrics.at("validation").contains("loss"))
    std::printf("best validation loss  %.4f after epoch %lld\n",
                metrics.at("validation").at("loss").get<double>(),
                static_cast<long long>(metrics.at("best_epoch").get<int64_t>()));
  if (metrics.contains("train_seconds"))
    std::printf("training time         %.1f s\n", metrics.at("train_seconds").get<double>());
  std::printf("outputs in %s\n", run_dir.c_str());
}

void register_align_train(CLI::App* align, CommonOptions& common) {
  CLI::App* command =
      align->add_subcommand("train", "Align an instruct LLM to the recommender (one variant)");
  auto args = std::make_shared<AlignTrainArgs>();
  auto* data = command->add_option("--data", args->data, "Folder written by align data");
  auto* variant =
      command->add_option("--variant", args->variant, "behaviour, intention, hybrid or none")
          ->check(CLI::IsMember({"behaviour", "intention", "hybrid", "none"}));
  auto* rec =
      command->add_option("--rec", args->rec, "Recommender run (default: the one align data used)");
  auto* base =
      command->add_option("--base-model", args->base_model,
                          "smollm2, a GGUF file or an HF folder (default: align.base_model)");
  auto* out = command->add_option("--out", args->out, "Run folder for every output");
  command->add_option("--resume", args->resume, "Continue the killed run in this run folder")
      ->excludes(data)
      ->excludes(variant)
      ->excludes(rec)
      ->excludes(base)
      ->excludes(out);
  add_nproc_option(command, args->nproc);
  add_common_options(command, common);
  command->callback([args, &common] { run_align_train(*args, common); });
}

struct AlignEvalArgs {
  std::string run;
  std::vector<std::string> tasks;
  AlignEvalOptions options;
};

void print_alignment_table(const nlohmann::json& result) {
  std::printf("%-14s %-9s %8s %8s %8s\n", "task", "metric", "value", "chance", "samples");
  const nlohmann::json& chance = result.at("chance");
  for (const auto& [task, metrics] : result.at("tasks").items())
    for (const auto& [metric, value] : metrics.items()) {
      if (metric == "samples") continue;
      char chance_text[16] = "-";
      if (chance.contains(task) && chance.at(task).contains(metric))
        std::snprintf(chance_text, sizeof chance_text, "%.4f",
                      chance.at(task).at(metric).get<double>());
      std::printf("%-14s %-9s %8.4f %8s %8lld\n", task.c_str(), metric.c_str(), value.get<double>(),
                  chance_text, static_cast<long long>(metrics.at("samples").get<int64_t>()));
    }
}

void run_align_eval(AlignEvalArgs& args, const CommonOptions& common) {
  setup_run(common);
  if (!args.tasks.empty()) args.options.tasks = args.tasks;
  const nlohmann::json result = evaluate_alignment(args.run, args.options);
  std::printf("variant %s, %s\n", result.at("variant").get<std::string>().c_str(),
              result.at("samples_file").get<std::string>().c_str());
  print_alignment_table(result);
  std::printf("outputs in %s (align_eval.json, align_eval_predictions.jsonl)\n", args.run.c_str());
}

void register_align_eval(CLI::App* align, CommonOptions& common) {
  CLI::App* command =
      align->add_subcommand("eval", "Alignment metrics of an align run on its validation samples");
  auto args = std::make_shared<AlignEvalArgs>();
  command->add_option("--run", args->run, "Run folder of align train")->required();
  command->add_option("--tasks", args->tasks, "Tasks to score (default: all five)")
      ->delimiter(',')
      ->check(CLI::IsMember(align_eval_tasks()));
  command
      ->add_option("--max-samples", args->options.max_samples,
                   "The first N samples of each task (0: all)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--batch-size", args->options.batch_size, "Prompts per batch")
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--max-new-tokens", args->options.max_new_tokens,
                   "Cap on every task's generation length (0: the original's)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--device", args->options.device, "cpu, cuda, cuda:N or auto");
  add_common_options(command, common);
  command->callback([args, &common] { run_align_eval(*args, common); });
}

struct AlignExplainArgs {
  std::string run, out;
  AlignExplainOptions options;
};

void register_align_explain(CLI::App* align, CommonOptions& common) {
  CLI::App* command =
      align->add_subcommand("explain", "Explanations of an align run (the explanation prompt)");
  auto args = std::make_shared<AlignExplainArgs>();
  command->add_option("--run", args->run, "Run folder of align train")->required();
  command->add_option("--out", args->out, "Output file (.jsonl, .csv or .xlsx)")->required();
  command->add_option("--split", args->options.split, "valid, train or both (train rows first)")
      ->check(CLI::IsMember({"valid", "train", "both"}));
  command
      ->add_option("--max-samples", args->options.max_samples,
                   "The first N samples of each split (0: all)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--max-new-tokens", args->options.max_new_tokens, "Default 500")
      ->check(CLI::PositiveNumber);
  command->add_option("--min-new-tokens", args->options.min_new_tokens, "Default 150")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--batch-size", args->options.batch_size, "Prompts per batch")
      ->check(CLI::PositiveNumber);
  command->add_option("--device", args->options.device, "cpu, cuda, cuda:N or auto");
  add_common_options(command, common);
  command->callback([args, &common] {
    setup_run(common);
    refuse_output_over_inputs("--out", args->out, {{args->run, "the run folder"}});
    const int64_t rows = explain_alignment(args->run, args->out, args->options);
    std::printf("%lld explanations in %s\n", static_cast<long long>(rows), args->out.c_str());
  });
}

struct AlignJudgeArgs {
  std::vector<std::string> explanations;
  std::string data, out;
  JudgeModelOptions judge;
  TextEncoderOptions encoder;
};

void run_align_judge(const AlignJudgeArgs& args, const CommonOptions& common) {
  setup_run(common);
  std::vector<JudgedExplainer> explainers;
  for (const std::string& spec : args.explanations) {
    const size_t at = spec.find('=');
    if (at == std::string::npos || at == 0 || at + 1 == spec.size())
      throw Error("align judge: --explanations takes NAME=FILE, got '" + spec + "'");
    const std::string name = spec.substr(0, at);
    for (const JudgedExplainer& earlier : explainers)
      if (earlier.name == name)
        throw Error("align judge: the explainer name '" + name + "' is given twice");
    explainers.push_back({name, spec.substr(at + 1)});
  }
  TextEncoderOptions encoder = args.encoder;
  encoder.device = args.judge.device;
  const nlohmann::json result = judge_explanations(explainers, args.data, args.judge, encoder);
  write_file_atomic(args.out, result.dump(2) + "\n");
  std::printf("%-16s %6s %8s %9s %8s %8s\n", "explainer", "rows", "grade A", "history", "target",
              "halluc.");
  for (const auto& [name, j] : result.at("explainers").items())
    std::printf("%-16s %6lld %8.3f %9.3f %8.3f %8.3f\n", name.c_str(),
                static_cast<long long>(j.at("rows").get<int64_t>()),
                j.at("grade_a_rate").get<double>(), j.at("history_share").get<double>(),
                j.at("target_mentioned").get<double>(), j.at("hallucination_rate").get<double>());
  for (const auto& [name, j] : result.at("explainers").items()) {
    if (!j.contains("judge_model")) continue;
    const nlohmann::json& m = j.at("judge_model");
    const nlohmann::json& g = m.at("grades_lenient");
    std::printf(
        "judge model, %-16s A %lld  B %lld  C %lld  D %lld  unreadable %lld (exact tags: %lld)\n",
        name.c_str(), static_cast<long long>(g.at("A").get<int64_t>()),
        static_cast<long long>(g.at("B").get<int64_t>()),
        static_cast<long long>(g.at("C").get<int64_t>()),
        static_cast<long long>(g.at("D").get<int64_t>()),
        static_cast<long long>(g.at("none").get<int64_t>()),
        static_cast<long long>(m.at("rows").get<int64_t>() -
                               m.at("grades").at("none").get<int64_t>()));
  }
  for (const char* key : {"discriminators", "encoder_discriminators"}) {
    const nlohmann::json& d = result.at(key);
    const bool tfidf = std::string(key) == "discriminators";
    if (d.is_null()) {
      if (tfidf)
        std::printf(
            "discriminators: skipped (they need two explainers with train and valid rows)\n");
      continue;
    }
    const char* features = tfidf ? "TF-IDF" : "encoder";
    std::printf("distinction accuracy (%s) %.3f\n", features,
                d.at("distinction").at("accuracy").get<double>());
    for (const auto& [name, j] : d.at("score").items())
      std::printf("score MSE (%s) %-16s %.4f (predicting the mean: %.4f)\n", features, name.c_str(),
                  j.at("mse").get<double>(), j.at("mean_mse").get<double>());
  }
  std::printf("judgement in %s\n", args.out.c_str());
}

void register_align_judge(CLI::App* align, CommonOptions& common) {
  CLI::App* command = align->add_subcommand("judge",
                                            "Judges of explanations: the rule grade, grounding, "
                                            "the discriminators, optionally a judge model");
  auto args = std::make_shared<AlignJudgeArgs>();
  command->add_option("--explanations", args->explanations, "NAME=FILE from align explain")
      ->required();
  command->add_option("--data", args->data, "Sequence folder (the titles' catalogue)")->required();
  command->add_option("--out", args->out, "Judgement file (.json)")->required();
  auto* judge_model = command->add_option(
      "--judge-model", args->judge.model,
      "Local instruct model for the original's GPT-4 judge prompt (smollm2, GGUF, HF folder)");
  command
      ->add_option("--judge-max-new-tokens", args->judge.max_new_tokens,
                   "Judge reply length at most (default 500, the original's)")
      ->check(CLI::PositiveNumber)
      ->needs(judge_model);
  command
      ->add_option("--judge-rows", args->judge.max_rows,
                   "Valid rows per explainer the judge model reads (default 0: all)")
      ->check(CLI::NonNegativeNumber)
      ->needs(judge_model);
  command->add_option("--batch-size", args->judge.batch_size, "Judge prompts per batch (default 4)")
      ->check(CLI::PositiveNumber)
      ->needs(judge_model);
  auto* encoder = command->add_option(
      "--encoder-model", args->encoder.model,
      "Pretrained LLM whose mean-pooled hidden states feed the discriminators besides TF-IDF");
  command
      ->add_option("--encoder-max-tokens", args->encoder.max_tokens,
                   "Tokens of an explanation the encoder reads (default 512, bert-base's)")
      ->check(CLI::PositiveNumber)
      ->needs(encoder);
  command->add_option("--device", args->judge.device,
                      "cpu, cuda, cuda:N or auto (judge and encoder models)");
  add_common_options(command, common);
  command->callback([args, &common] { run_align_judge(*args, common); });
}

}  // namespace

void register_align(CLI::App& root, CommonOptions& common) {
  CLI::App* align =
      root.add_subcommand("align", "RecExplainer: align an LLM to the target recommender");
  align->require_subcommand(1);
  CLI::App* command =
      align->add_subcommand("data", "Build the alignment-task samples from the label files");
  auto args = std::make_shared<AlignDataArgs>();
  command->add_option("--rec", args->rec, "Run folder of rec train (the target recommender)")
      ->required();
  command->add_option("--labels", args->labels, "Folder written by rec label")->required();
  command->add_option("--data", args->data, "Sequence folder (default: the recommender's)");
  command->add_option("--out", args->out, "Output folder")->required();
  command->add_option("--variant", args->variant, "behaviour, intention, hybrid or all");
  command
      ->add_option("--max-train-per-user", args->max_train_per_user,
                   "Keep each user's last N training rows (0: all)")
      ->check(CLI::NonNegativeNumber);
  auto* general = command->add_option(
      "--general", args->general,
      "Chat data mixed in (JSON array of ShareGPT 'conversations' or 'messages')");
  command
      ->add_option("--general-ratio", args->general_ratio,
                   "Conversations per alignment sample, in training and validation (default 0.1)")
      ->check(CLI::NonNegativeNumber)
      ->needs(general);
  add_common_options(command, common);
  command->callback([args, &common] { run_align_data(*args, common); });
  register_align_train(align, common);
  register_align_eval(align, common);
  register_align_explain(align, common);
  register_align_judge(align, common);
}

}  // namespace gavamoe::cli
