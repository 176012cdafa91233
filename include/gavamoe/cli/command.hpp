// What every subcommand shares: the common options and the run setup.
//
// Each subcommand lives in src/cli/<name>.cpp and exposes register_<name>(root, common), which
// adds a CLI11 subcommand whose callback does the work. Options go after the subcommand;
// --threads, --seed, --log-level, --config and --set are accepted by every one of them.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gavamoe/core/config.hpp"
#include "gavamoe/data/dataset.hpp"

namespace gavamoe {
class DataParallel;
}

namespace gavamoe::cli {

struct CommonOptions {
  int threads = 0;  // 0: all cores
  uint64_t seed = 1;
  std::string log_level = "info";
  std::string config;             // run config file
  std::vector<std::string> sets;  // section.key=value overrides
  std::vector<std::string> argv;  // the whole command line (relaunched by --nproc)
};

// Thrown by a command that finished its work and must still end with a non-zero status (e.g.
// `data check` on a leaking split, so scripts can gate on it); main returns `code`.
struct CommandStatus {
  int code;
};

// Option checks whose errors give the bounds as written ("--beams: must be an integer of at
// least 1, got 0"); CLI11's PositiveNumber and NonNegativeNumber print the largest double as
// the upper bound, and its Range prints doubles with six decimals.
CLI::Validator integer_at_least(int64_t low);
CLI::Validator integer_from_to(int64_t low, int64_t high);
CLI::Validator number_above(double low);
CLI::Validator number_from_to(double low, double high);

// Adds --threads, --seed, --log-level, --config, --set to a subcommand.
void add_common_options(CLI::App* command, CommonOptions& common);

// Applies log level, thread count and seed; returns the run config (--config then --set).
RunConfig setup_run(const CommonOptions& common);

// Data-parallel training commands (parallel_workers.cpp): `--nproc N` starts N worker
// processes of the same command line on this machine; a launcher such as torchrun that sets
// RANK and WORLD_SIZE works too. Rank 0 alone reports and writes.
void add_nproc_option(CLI::App* command, int& nproc);
// In the process started with --nproc N > 1 (no WORLD_SIZE yet): runs the N workers and
// returns true once all have succeeded (a failure is an Error naming `command`); the caller is
// then done. False in a worker or a single process: the caller trains.
bool run_as_launcher(const std::string& command, int nproc, const CommonOptions& common);
// setup_run; in a worker of a group also shares the cores among the local workers (unless
// --threads is given) and leaves the reports below warnings to rank 0.
RunConfig setup_worker_run(const CommonOptions& common);
// Joins this worker's group (nullptr for one process): NCCL when `device` (config key `key`)
// is a GPU for this rank's LOCAL_RANK, else gloo.
std::unique_ptr<DataParallel> join_workers(const std::string& device, const std::string& key);
// Rank 0 of the group, or a single process.
bool is_main_worker();

// --data and --split of a command that starts a run, into its config when given (split 0: not
// given). data.path is made absolute, so the run's config.json names the dataset from anywhere.
void set_data_options(RunConfig& config, const std::string& data, int split);

// data.path of a run's config read from `config_path` (RUN/config.json); a null or missing
// dataset is an error naming that file. load_run_dataset loads it as load_command_dataset does.
std::string run_data_path(const RunConfig& config, const std::string& config_path);
Dataset load_run_dataset(const RunConfig& config, const std::string& config_path);

// The dataset at `path` (empty: the config's data.path), fold `split` (0: the config's
// data.split), shuffled by the config's data.shuffle_seed when it is a bare .jsonl file.
Dataset load_command_dataset(const RunConfig& config, const std::string& path = "", int split = 0);

// For a command that starts a run: --out is required, and the folder must not hold one of
// `outputs` yet (such a run is continued with --resume instead).
void require_new_run_folder(const std::string& command, const std::string& run_dir,
                            std::initializer_list<const char*> outputs);

// A file or folder a command reads, named for messages ("the dataset", "--pred").
struct ReadPath {
  std::string path;
  std::string what;
};

// Refuses an output that would destroy an input: `out` resolving (after symlinks) to a file
// among `inputs`, or to a path inside a folder among them (a dataset or run folder). Empty
// input paths are ignored.
void refuse_output_over_inputs(const std::string& option, const std::string& out,
                               const std::vector<ReadPath>& inputs);

// The config of a run being resumed: RUN_DIR/config.json as written when it started. A resumed
// run keeps the settings it started with, so --config and --set are errors, not silently unused.
RunConfig resumed_run_config(const std::string& command, const std::string& run_dir,
                             const CommonOptions& common);

// `gavamoe data stats` and `gavamoe data check`, added under the `data` subcommand.
void register_data_stats(CLI::App* data, CommonOptions& common);
void register_data_check(CLI::App* data, CommonOptions& common);
// `gavamoe data import-movielens` and `import-amazon-sequences` (data_sequences.cpp).
void register_data_sequences(CLI::App* data, CommonOptions& common);
// `data stats` of a sequence folder: prints and returns true; false when `path` is none.
bool print_sequence_stats(const std::string& path, bool as_json);

}  // namespace gavamoe::cli
