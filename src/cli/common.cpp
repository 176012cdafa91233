// Common options and run setup shared by every subcommand.
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"

namespace gavamoe::cli {

void add_common_options(CLI::App* command, CommonOptions& common) {
  command->add_option("--threads", common.threads, "CPU threads for LibTorch (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--seed", common.seed, "Seed for data order, initialisation and sampling");
  command->add_option("--log-level", common.log_level, "trace, debug, info, warn, error, off");
  command->add_option("--config", common.config, "Run config JSON (configs/<dataset>-<size>.json)");
  command->add_option("--set", common.sets, "Override one config key: section.key=value")
      ->take_all()
      ->allow_extra_args(false);
}

RunConfig setup_run(const CommonOptions& common) {
  log::set_level(log::parse_level(common.log_level));
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int threads = common.threads > 0 ? common.threads : std::max(1, cores);
  at::set_num_threads(threads);
  at::manual_seed(common.seed);
  RunConfig config;
  if (!common.config.empty()) config.merge_file(common.config);
  config.set_all(common.sets);
  return config;
}

void set_data_options(RunConfig& config, const std::string& data, int split) {
  if (!data.empty()) config.set("data.path=" + nlohmann::json(data).dump());
  if (split > 0) config.set("data.split=" + std::to_string(split));
}

Dataset load_command_dataset(const RunConfig& config, const std::string& path, int split) {
  LoadOptions load;
  load.split = split > 0 ? split : config.get<int>("data.split");
  load.shuffle_seed = config.get<uint64_t>("data.shuffle_seed");
  return load_dataset(path.empty() ? config.get<std::string>("data.path") : path, load);
}

void require_new_run_folder(const std::string& command, const std::string& run_dir,
                            std::initializer_list<const char*> outputs) {
  if (run_dir.empty()) throw Error(command + ": --out RUN_DIR is required");
  for (const char* output : outputs)
    if (std::filesystem::exists(run_dir + "/" + output))
      throw Error(run_dir + ": already holds a run; continue it with --resume " + run_dir +
                  " or choose another --out");
}

RunConfig resumed_run_config(const std::string& command, const std::string& run_dir,
                             const CommonOptions& common) {
  if (!common.config.empty() || !common.sets.empty())
    throw Error(command + ": --resume " + run_dir +
                " keeps the settings the run started with (its config.json); --config and --set "
                "are not accepted with it");
  RunConfig config;
  config.merge_file(run_dir + "/config.json");
  return config;
}

}  // namespace gavamoe::cli
