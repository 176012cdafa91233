// gavamoe train: train the cluster-gated mixture-of-experts explainer.
//
//   gavamoe train --data PATH [--split N] --vae VAE_RUN
//                 (--base-model HF_DIR | --scratch MODEL_CONFIG [--tokenizer tok.model])
//                 --out RUN_DIR [--config FILE] [--seed S] [--nproc N]
//   gavamoe train --resume RUN_DIR [--nproc N]   (continues a killed run from its checkpoint)
// Without --base-model or --scratch the base is train.model_config, from scratch. --nproc N
// starts N data-parallel worker processes on this machine (gloo, or NCCL on CUDA); a launcher
// such as torchrun that sets RANK and WORLD_SIZE works too. Rank 0 alone writes.
#include <cstdio>
#include <memory>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/data/data_check.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/train/data_parallel.hpp"
#include "gavamoe/train/explainer_trainer.hpp"

namespace gavamoe::cli {
namespace {

struct TrainArgs {
  std::string data;
  int split = 0;  // 0: from the config
  std::string vae;
  std::string base_model;
  std::string scratch;
  std::string tokenizer;
  std::string out;
  std::string resume;
  int nproc = 1;
};

void print_summary(const nlohmann::json& metrics, const std::string& run_dir) {
  if (metrics.value("stopped", false)) return;
  const auto& skipped = metrics.at("skipped");
  std::printf("trainable parameters  %lld of %lld\n",
              static_cast<long long>(metrics.at("trainable_parameters").get<int64_t>()),
              static_cast<long long>(metrics.at("parameters").get<int64_t>()));
  std::printf("skipped records       %lld train, %lld validation (prompt too long)\n",
              static_cast<long long>(skipped.at("train").get<int64_t>()),
              static_cast<long long>(skipped.at("validation").get<int64_t>()));
  if (metrics.at("best_val_loss").is_number())
    std::printf("best validation       epoch %lld: loss %.4f, perplexity %.3f\n",
                static_cast<long long>(metrics.at("best_epoch").get<int64_t>()),
                metrics.at("best_val_loss").get<double>(),
                metrics.at("best_val_ppl").get<double>());
  std::printf("unigram baseline      perplexity %.3f\n",
              metrics.at("unigram_val_ppl").get<double>());
  if (metrics.at("tokens_per_s").is_number())
    std::printf("training speed        %.0f tokens/s\n", metrics.at("tokens_per_s").get<double>());
  std::printf("outputs in %s\n", run_dir.c_str());
}

void run_train(const TrainArgs& args, const CommonOptions& common) {
  if (run_as_launcher("train", args.nproc, common)) return;
  const ParallelEnvironment env = ParallelEnvironment::from_environment();
  RunConfig config = setup_worker_run(common);
  const bool resume = !args.resume.empty();
  std::string run_dir = args.out;
  ExplainerSources sources;
  if (resume) {
    run_dir = args.resume;
    config = resumed_run_config("train", run_dir, common);
  } else {
    set_data_options(config, args.data, args.split);
    if (!args.scratch.empty()) {
      config.set("train.model_config=" + nlohmann::json(args.scratch).dump());
      config.set("train.base_model=null");
    }
    if (!args.base_model.empty())
      config.set("train.base_model=" + nlohmann::json(args.base_model).dump());
    if (config.at("data.path").is_null()) throw Error("train: --data PATH is required");
    if (args.vae.empty()) throw Error("train: --vae VAE_RUN is required");
    require_new_run_folder("train", run_dir, {"checkpoint", "explainer.safetensors"});
    sources.vae_run = args.vae;
    const nlohmann::json& base_model = config.at("train.base_model");
    if (!base_model.is_null() && !base_model.is_string())
      throw Error("train.base_model: must be a model name, a path or null");
    if (base_model.is_string())
      sources.base_model = base_model.get<std::string>();
    else
      sources.model_config = config.get<std::string>("train.model_config");
    sources.tokenizer = args.tokenizer;
  }
  const Dataset data =
      resume ? load_run_dataset(config, run_dir + "/config.json") : load_command_dataset(config);
  warn_about_data(data, check_dataset(data));
  if (!resume) config.check("train");
  const auto options = ExplainerTrainOptions::from_config(config, common.seed);
  if (!resume)
    check_new_explainer_run(data, sources, options, env.world_size > 1 ? env.local_rank : 0);

  const std::unique_ptr<DataParallel> parallel = join_workers(options.device, "train.device");
  if (env.rank == 0) {
    make_dirs(run_dir);
    remove_stale_temporaries(run_dir);
    if (!resume) config.write(run_dir + "/config.json");
    log::set_file(run_dir + "/train.log");
  }
  const auto metrics = resume ? resume_explainer(data, options, run_dir, parallel.get())
                              : train_explainer(data, sources, options, run_dir, parallel.get());
  log::set_file("");
  if (env.rank == 0) print_summary(metrics, run_dir);
}

}  // namespace

void register_train(CLI::App& root, CommonOptions& common) {
  CLI::App* command =
      root.add_subcommand("train", "Train the cluster-gated mixture-of-experts explainer");
  auto args = std::make_shared<TrainArgs>();
  auto* data = command->add_option("--data", args->data, "Dataset folder or .jsonl file");
  auto* split = command->add_option("--split", args->split, "Fold 1..5 of index-file layouts")
                    ->check(integer_from_to(1, 5));
  auto* vae = command->add_option("--vae", args->vae, "Run folder of pretrain-vae");
  auto* base =
      command->add_option("--base-model", args->base_model,
                          "Pretrained base to fine-tune (LoRA + experts): smollm2, a .gguf "
                          "file or a Hugging Face Llama folder (train.base_model)");
  auto* scratch = command
                      ->add_option("--scratch", args->scratch,
                                   "Model config (HF config.json) to train from scratch")
                      ->excludes(base);
  auto* tokenizer = command
                        ->add_option("--tokenizer", args->tokenizer,
                                     "SentencePiece model for --scratch (default: train one)")
                        ->excludes(base);
  auto* out = command->add_option("--out", args->out, "Run folder for every output");
  command->add_option("--resume", args->resume, "Continue the killed run in this run folder")
      ->excludes(data)
      ->excludes(split)
      ->excludes(vae)
      ->excludes(base)
      ->excludes(scratch)
      ->excludes(tokenizer)
      ->excludes(out);
  add_nproc_option(command, args->nproc);
  add_common_options(command, common);
  command->callback([args, &common] { run_train(*args, common); });
}

}  // namespace gavamoe::cli
