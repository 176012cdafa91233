// gavamoe export: a trained explainer, or a pretrained model, in the Hugging Face layout.
//
//   gavamoe export --run RUN_DIR --out HF_DIR
//     the base with LoRA merged (config.json, model.safetensors), explainer.json and
//     explainer.safetensors (experts, routers, projections, VAE tables) and the run's tokenizer
//   gavamoe export --model NAME --out HF_DIR
//     a pretrained model as load_pretrained reads it (smollm2, a .gguf file, an HF folder):
//     config.json, model.safetensors (float32, q/k in the HF layout) and its tokenizer
// Either way the tokenizer is written by save_hf_tokenizer (tokenizer.json or tokenizer.model,
// with tokenizer_config.json: BOS/EOS, add_bos_token, chat template). Everything goes into a
// temporary folder next to HF_DIR, then renamed: HF_DIR appears whole or not at all.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/model/explainer.hpp"
#include "gavamoe/model/hf_checkpoint.hpp"
#include "gavamoe/model/pretrained.hpp"
#include "gavamoe/text/bpe_tokenizer.hpp"

namespace gavamoe::cli {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string run;
  std::string model;
  std::string out;
};

void run_export(const ExportArgs& args, const CommonOptions& common) {
  setup_run(common);
  if (args.run.empty() == args.model.empty())
    throw Error("export: give one of --run RUN_DIR or --model NAME");
  if (fs::exists(args.out)) throw file_error(args.out, "already exists; choose another --out");
  const std::string source = args.run.empty() ? args.model : args.run;
  if (!args.run.empty()) {
    for (const char* needed : {"explainer.json", "explainer.safetensors"})
      if (!fs::exists(args.run + "/" + needed))
        throw file_error(args.run, std::string("not a finished train run (no ") + needed + ")");
    Explainer model = load_explainer_run(args.run);
    const auto tokenizer = load_tokenizer(args.run);
    write_folder_atomic(args.out, [&](const fs::path& dir) {
      model->export_hf(dir.string());
      save_hf_tokenizer(*tokenizer, dir.string());
    });
  } else {
    const PretrainedModel pretrained = load_pretrained(args.model);
    write_folder_atomic(args.out, [&](const fs::path& dir) {
      save_hf_checkpoint(pretrained.model, dir.string());
      save_hf_tokenizer(*pretrained.tokenizer, dir.string());
    });
  }
  log::info("export: %s -> %s", source.c_str(), args.out.c_str());
  std::printf("exported %s to %s\n", source.c_str(), args.out.c_str());
}

}  // namespace

void register_export(CLI::App& root, CommonOptions& common) {
  CLI::App* command = root.add_subcommand(
      "export", "Write a trained explainer or a pretrained model in the Hugging Face layout");
  auto args = std::make_shared<ExportArgs>();
  auto* run = command->add_option("--run", args->run, "Run folder of train");
  command
      ->add_option("--model", args->model,
                   "Pretrained model to convert: smollm2, a .gguf file or a Hugging Face folder")
      ->excludes(run);
  command->add_option("--out", args->out, "Folder to create (Hugging Face layout)")->required();
  add_common_options(command, common);
  command->callback([args, &common] { run_export(*args, common); });
}

}  // namespace gavamoe::cli
