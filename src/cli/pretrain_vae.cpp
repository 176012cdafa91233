// gavamoe pretrain-vae: train the VAE-GMM on a dataset and cluster every (user, item) record.
//
//   gavamoe pretrain-vae --data PATH [--split N] [--clusters K] --out RUN_DIR [--config FILE]
//   gavamoe pretrain-vae --resume RUN_DIR      (continues a killed run from its last epoch)
// The effective run config is written to RUN_DIR/config.json before training starts; a resume
// reads it back, so the continued run uses exactly the settings it started with.
#include <cstdio>
#include <memory>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/data/data_check.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/train/vae_trainer.hpp"

namespace gavamoe::cli {
namespace {

struct PretrainVaeArgs {
  std::string data;
  std::string out;
  std::string resume;
  int split = 0;     // 0: from the config
  int clusters = 0;  // 0: from the config
};

void run_pretrain_vae(const PretrainVaeArgs& args, const CommonOptions& common) {
  RunConfig config = setup_run(common);
  std::string run_dir = args.out;
  if (!args.resume.empty()) {
    run_dir = args.resume;
    config = resumed_run_config("pretrain-vae", run_dir, common);
  } else {
    set_data_options(config, args.data, args.split);
    if (args.clusters > 0) config.set("vae.clusters=" + std::to_string(args.clusters));
    if (config.at("data.path").is_null()) throw Error("pretrain-vae: --data PATH is required");
    require_new_run_folder("pretrain-vae", run_dir, {"checkpoint.pt", "vae.safetensors"});
  }
  const Dataset data = load_command_dataset(config);
  warn_about_data(data, check_dataset(data));
  const auto options = VaeTrainOptions::from_config(config.at("vae"), common.seed);
  make_dirs(run_dir);
  if (args.resume.empty()) config.write(run_dir + "/config.json");
  log::set_file(run_dir + "/pretrain-vae.log");
  const auto metrics = pretrain_vae(data, options, run_dir, !args.resume.empty());
  log::set_file("");

  for (const char* subset : {"train", "validation", "test"}) {
    const auto& m = metrics.at("subsets").at(subset);
    if (m.at("records").get<int64_t>() == 0) continue;
    std::printf(
        "%-10s  records %7lld  RMSE %.4f  MAE %.4f  accuracy %.4f  "
        "(global mean RMSE %.4f, user+item bias RMSE %.4f)\n",
        subset, static_cast<long long>(m.at("records").get<int64_t>()), m.at("rmse").get<double>(),
        m.at("mae").get<double>(), m.at("accuracy").get<double>(),
        metrics.at("baselines").at("global_mean").at(subset).at("rmse").get<double>(),
        metrics.at("baselines").at("user_item_bias").at(subset).at("rmse").get<double>());
  }
  if (metrics.contains("nmi"))
    std::printf("clusters vs truth: NMI %.4f  ARI %.4f\n", metrics.at("nmi").get<double>(),
                metrics.at("ari").get<double>());
  std::printf("outputs in %s\n", run_dir.c_str());
}

}  // namespace

void register_pretrain_vae(CLI::App& root, CommonOptions& common) {
  CLI::App* command =
      root.add_subcommand("pretrain-vae", "Cluster (user, item) pairs with the VAE-GMM");
  auto args = std::make_shared<PretrainVaeArgs>();
  auto* data = command->add_option("--data", args->data, "Dataset folder or .jsonl file");
  auto* split = command->add_option("--split", args->split, "Fold 1..5 of index-file layouts")
                    ->check(CLI::Range(1, 5));
  auto* clusters = command
                       ->add_option("--clusters", args->clusters,
                                    "Number of clusters K (overrides vae.clusters)")
                       ->check(CLI::PositiveNumber);
  auto* out = command->add_option("--out", args->out, "Run folder for every output");
  command->add_option("--resume", args->resume, "Continue the killed run in this run folder")
      ->excludes(data)
      ->excludes(split)
      ->excludes(clusters)
      ->excludes(out);
  add_common_options(command, common);
  command->callback([args, &common] { run_pretrain_vae(*args, common); });
}

}  // namespace gavamoe::cli
