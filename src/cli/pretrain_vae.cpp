// gavamoe pretrain-vae: train the VAE-GMM on a dataset and cluster every (user, item) record.
//
//   gavamoe pretrain-vae --data PATH [--split N] [--clusters K] --out RUN_DIR [--config FILE]
//   gavamoe pretrain-vae --data PATH --clusters 2,3,4,5 --out SWEEP_DIR   (one run per K)
//   gavamoe pretrain-vae --resume RUN_DIR      (continues a killed run from its last epoch)
// The effective run config is written to RUN_DIR/config.json before training starts; a resume
// reads it back, so the continued run uses exactly the settings it started with. A sweep
// writes SWEEP_DIR/K<k> for every K (each a run folder of its own) and
// SWEEP_DIR/clusters_sweep.json: per K the test RMSE, the smallest test cluster's share, the
// effective number of clusters exp(H(test shares)) and, with truth.jsonl, the NMI, so that K
// can be chosen from the data.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <sstream>
#include <vector>

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
  int split = 0;         // 0: from the config
  std::string clusters;  // "K" or "K1,K2,...", empty: from the config
};

std::vector<int> parse_cluster_list(const std::string& text) {
  std::vector<int> list;
  std::istringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    size_t used = 0;
    int k = 0;
    try {
      k = std::stoi(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || k < 1)
      throw Error("pretrain-vae: --clusters takes positive numbers separated by commas, got '" +
                  text + "'");
    if (std::find(list.begin(), list.end(), k) != list.end())
      throw Error("pretrain-vae: --clusters names " + std::to_string(k) + " twice");
    list.push_back(k);
  }
  if (list.empty()) throw Error("pretrain-vae: --clusters is empty");
  return list;
}

void print_rating_table(const nlohmann::json& metrics) {
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
}

// One sweep row from a run's metrics: the test subset's, or the training subset's when the
// data has no test records.
nlohmann::json sweep_row(int k, const std::string& run_dir, const nlohmann::json& metrics) {
  const auto& subsets = metrics.at("subsets");
  const std::string subset = subsets.at("test").at("records").get<int64_t>() > 0
                                 ? "test"
                                 : metrics.at("train_subset").get<std::string>();
  const auto& m = subsets.at(subset);
  const auto sizes = m.at("cluster_sizes").get<std::vector<int64_t>>();
  const double records = static_cast<double>(std::max<int64_t>(1, m.at("records").get<int64_t>()));
  nlohmann::json row = {{"clusters", k},
                        {"run", run_dir},
                        {"subset", subset},
                        {"rmse", m.at("rmse")},
                        {"cluster_sizes", sizes},
                        {"smallest_share", *std::min_element(sizes.begin(), sizes.end()) / records},
                        {"effective_clusters", effective_clusters(sizes)},
                        {"nmi", metrics.value("nmi", nlohmann::json(nullptr))}};
  return row;
}

void run_pretrain_vae(const PretrainVaeArgs& args, const CommonOptions& common) {
  RunConfig config = setup_run(common);
  if (!args.resume.empty()) {
    config = resumed_run_config("pretrain-vae", args.resume, common);
    const Dataset data = load_run_dataset(config, args.resume + "/config.json");
    warn_about_data(data, check_dataset(data));
    const auto options = VaeTrainOptions::from_config(config.at("vae"), common.seed);
    remove_stale_temporaries(args.resume);
    log::set_file(args.resume + "/pretrain-vae.log");
    const auto metrics = pretrain_vae(data, options, args.resume, true);
    log::set_file("");
    print_rating_table(metrics);
    std::printf("outputs in %s\n", args.resume.c_str());
    return;
  }
  set_data_options(config, args.data, args.split);
  if (config.at("data.path").is_null()) throw Error("pretrain-vae: --data PATH is required");
  const std::vector<int> ks = args.clusters.empty()
                                  ? std::vector<int>{config.get<int>("vae.clusters")}
                                  : parse_cluster_list(args.clusters);
  const bool sweep = ks.size() > 1;
  require_new_run_folder("pretrain-vae", args.out,
                         {"checkpoint.pt", "vae.safetensors", "clusters_sweep.json"});
  const Dataset data = load_command_dataset(config);
  warn_about_data(data, check_dataset(data));
  nlohmann::json rows = nlohmann::json::array();
  for (int k : ks) {
    config.set("vae.clusters=" + std::to_string(k));
    config.check("pretrain-vae");
    const auto options = VaeTrainOptions::from_config(config.at("vae"), common.seed);
    check_vae_run(data, options);
    const std::string run_dir = sweep ? args.out + "/K" + std::to_string(k) : args.out;
    if (sweep)
      require_new_run_folder("pretrain-vae", run_dir, {"checkpoint.pt", "vae.safetensors"});
    make_dirs(run_dir);
    remove_stale_temporaries(run_dir);
    config.write(run_dir + "/config.json");
    log::set_file(run_dir + "/pretrain-vae.log");
    const auto metrics = pretrain_vae(data, options, run_dir);
    log::set_file("");
    if (sweep) std::printf("K = %d\n", k);
    print_rating_table(metrics);
    rows.push_back(sweep_row(k, run_dir, metrics));
  }
  if (!sweep) {
    std::printf("outputs in %s\n", args.out.c_str());
    return;
  }
  write_file_atomic(args.out + "/clusters_sweep.json", rows.dump(2) + "\n");
  log::set_file(args.out + "/clusters_sweep.log");
  for (const auto& row : rows) {
    const std::string nmi =
        row.at("nmi").is_null() ? "" : log::format(", NMI %.4f", row.at("nmi").get<double>());
    log::info(
        "clusters sweep: K %d, %s RMSE %.4f, smallest cluster %.1f%%, effective clusters "
        "%.2f%s",
        row.at("clusters").get<int>(), row.at("subset").get<std::string>().c_str(),
        row.at("rmse").get<double>(), 100 * row.at("smallest_share").get<double>(),
        row.at("effective_clusters").get<double>(), nmi.c_str());
  }
  log::set_file("");
  std::printf("sweep table in %s/clusters_sweep.json\n", args.out.c_str());
}

}  // namespace

void register_pretrain_vae(CLI::App& root, CommonOptions& common) {
  CLI::App* command =
      root.add_subcommand("pretrain-vae", "Cluster (user, item) pairs with the VAE-GMM");
  auto args = std::make_shared<PretrainVaeArgs>();
  auto* data = command->add_option("--data", args->data, "Dataset folder or .jsonl file");
  auto* split = command->add_option("--split", args->split, "Fold 1..5 of index-file layouts")
                    ->check(integer_from_to(1, 5));
  auto* clusters = command->add_option("--clusters", args->clusters,
                                       "Number of clusters K (overrides vae.clusters), or a list "
                                       "K1,K2,... for one run per K under --out");
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
