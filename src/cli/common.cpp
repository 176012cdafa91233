// Common options and run setup shared by every subcommand.
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"

namespace gavamoe::cli {

namespace {

// More threads than this many per core only slow a run down (and a typo like 100000 would
// spawn threads for minutes before the first step).
constexpr int kMaxThreadsPerCore = 4;

// A decimal integer in 0..2^64-1; anything else (a sign, a fraction, an overflow) is an error
// rather than a silently clamped seed.
uint64_t parse_seed(const std::string& text) {
  const std::string error = "--seed " + text + ": must be an integer from 0 to " +
                            std::to_string(std::numeric_limits<uint64_t>::max());
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos)
    throw Error(error);
  uint64_t value = 0;
  for (char c : text) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) throw Error(error);
    value = value * 10 + digit;
  }
  return value;
}

std::string bound_text(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

// A validator that parses the option's text as a double and asks `fits` of it; `integer`
// also requires a whole number. `range` completes "must be ...".
CLI::Validator number_check(const std::string& range, bool integer,
                            std::function<bool(double)> fits) {
  const std::string what = std::string(integer ? "an integer " : "a number ") + range;
  return CLI::Validator(
      [what, integer, fits](std::string& input) -> std::string {
        double value = 0;
        const bool parsed = CLI::detail::lexical_cast(input, value) && std::isfinite(value);
        if (parsed && (!integer || value == std::floor(value)) && fits(value)) return "";
        return "must be " + what + ", got " + input;
      },
      range.rfind("of ", 0) == 0 ? range.substr(3) : range);
}

}  // namespace

CLI::Validator integer_at_least(int64_t low) {
  const auto bound = static_cast<double>(low);
  return number_check("of at least " + std::to_string(low), true,
                      [bound](double x) { return x >= bound; });
}

CLI::Validator integer_from_to(int64_t low, int64_t high) {
  const auto a = static_cast<double>(low), b = static_cast<double>(high);
  return number_check("from " + std::to_string(low) + " to " + std::to_string(high), true,
                      [a, b](double x) { return x >= a && x <= b; });
}

CLI::Validator number_above(double low) {
  return number_check("greater than " + bound_text(low), false,
                      [low](double x) { return x > low; });
}

CLI::Validator number_from_to(double low, double high) {
  return number_check("from " + bound_text(low) + " to " + bound_text(high), false,
                      [low, high](double x) { return x >= low && x <= high; });
}

void add_common_options(CLI::App* command, CommonOptions& common) {
  command->add_option("--threads", common.threads, "CPU threads for LibTorch (0: all cores)")
      ->check(integer_at_least(0));
  command->add_option_function<std::string>(
      "--seed", [&common](const std::string& text) { common.seed = parse_seed(text); },
      "Seed for data order, initialisation and sampling (0 to 2^64-1; default 1)");
  command->add_option("--log-level", common.log_level, "trace, debug, info, warn, error, off");
  command->add_option("--config", common.config, "Run config JSON (configs/<dataset>-<size>.json)");
  command->add_option("--set", common.sets, "Override one config key: section.key=value")
      ->take_all()
      ->allow_extra_args(false);
}

RunConfig setup_run(const CommonOptions& common) {
  log::set_level(log::parse_level(common.log_level));
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (common.threads > kMaxThreadsPerCore * cores)
    throw Error("--threads " + std::to_string(common.threads) + ": at most " +
                std::to_string(kMaxThreadsPerCore * cores) + " on this machine (" +
                std::to_string(kMaxThreadsPerCore) + " per core; it has " + std::to_string(cores) +
                ")");
  if (common.threads > cores)
    log::warn("--threads %d is more than the %d cores: the threads will compete for them",
              common.threads, cores);
  const int threads = common.threads > 0 ? common.threads : cores;
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
  // Stored absolute: the run's config.json is read again from other folders (resume, infer).
  const nlohmann::json& path = config.at("data.path");
  if (path.is_string() && !path.get<std::string>().empty())
    config.set("data.path=" +
               nlohmann::json(
                   std::filesystem::absolute(path.get<std::string>()).lexically_normal().string())
                   .dump());
}

std::string run_data_path(const RunConfig& config, const std::string& config_path) {
  const nlohmann::json& path = config.at("data.path");
  if (!path.is_string() || path.get<std::string>().empty())
    throw file_error(config_path, "data.path names no dataset; pass --data PATH");
  const std::string data = path.get<std::string>();
  if (!std::filesystem::exists(data))
    throw file_error(config_path, "data.path " + data + " does not exist (moved or deleted?)");
  return data;
}

Dataset load_run_dataset(const RunConfig& config, const std::string& config_path) {
  return load_command_dataset(config, run_data_path(config, config_path));
}

Dataset load_command_dataset(const RunConfig& config, const std::string& path, int split) {
  LoadOptions load;
  load.split = split > 0 ? split : config.get<int>("data.split");
  load.shuffle_seed = config.get<uint64_t>("data.shuffle_seed");
  return load_dataset(path.empty() ? config.get<std::string>("data.path") : path, load);
}

void refuse_output_over_inputs(const std::string& option, const std::string& out,
                               const std::vector<ReadPath>& inputs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target = fs::weakly_canonical(fs::absolute(out), ec);
  if (ec) return;  // an unreadable path fails later with its own message
  for (const ReadPath& input : inputs) {
    if (input.path.empty() || !fs::exists(input.path)) continue;
    const fs::path source = fs::weakly_canonical(fs::absolute(input.path), ec);
    if (ec) continue;
    if (target == source)
      throw Error(option + " " + out + " is " + input.what + " this command reads (" + input.path +
                  "); write the output elsewhere");
    if (!fs::is_directory(source)) continue;
    const auto mismatch = std::mismatch(source.begin(), source.end(), target.begin(), target.end());
    if (mismatch.first == source.end())
      throw Error(option + " " + out + " is inside " + input.what + " " + input.path +
                  " that this command reads; write the output elsewhere");
  }
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
