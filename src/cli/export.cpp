// gavamoe export: a trained explainer back in the Hugging Face layout.
//
//   gavamoe export --run RUN_DIR --out HF_DIR
// Writes the base with LoRA merged (config.json, model.safetensors), explainer.json and
// explainer.safetensors (experts, routers, projections, VAE tables) and the run's
// tokenizer.model into a temporary folder next to HF_DIR, then renames it: HF_DIR appears
// whole or not at all.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/model/explainer.hpp"

namespace gavamoe::cli {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string run;
  std::string out;
};

void run_export(const ExportArgs& args, const CommonOptions& common) {
  setup_run(common);
  if (fs::exists(args.out)) throw file_error(args.out, "already exists; choose another --out");
  for (const char* needed : {"explainer.json", "explainer.safetensors", "tokenizer.model"})
    if (!fs::exists(args.run + "/" + needed))
      throw file_error(args.run, std::string("not a finished train run (no ") + needed + ")");
  Explainer model = load_explainer_run(args.run);
  const fs::path out = fs::path(args.out).lexically_normal();
  const fs::path temp = out.string() + ".tmp-" + std::to_string(::getpid());
  if (out.has_parent_path()) make_dirs(out.parent_path().string());
  fs::remove_all(temp);
  try {
    model->export_hf(temp.string());
    fs::copy_file(args.run + "/tokenizer.model", temp / "tokenizer.model");
    fs::rename(temp, out);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(temp, ignored);
    throw;
  }
  log::info("export: %s -> %s", args.run.c_str(), args.out.c_str());
  std::printf("exported %s to %s\n", args.run.c_str(), args.out.c_str());
}

}  // namespace

void register_export(CLI::App& root, CommonOptions& common) {
  CLI::App* command =
      root.add_subcommand("export", "Write a trained model back in the Hugging Face layout");
  auto args = std::make_shared<ExportArgs>();
  command->add_option("--run", args->run, "Run folder of train")->required();
  command->add_option("--out", args->out, "Folder to create (Hugging Face layout)")->required();
  add_common_options(command, common);
  command->callback([args, &common] { run_export(*args, common); });
}

}  // namespace gavamoe::cli
