// `gavamoe data stats`: counts, rating histogram and explanation lengths of a dataset (of a
// sequence folder: its sequence statistics, data_sequences.cpp).
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/data/data_check.hpp"
#include "gavamoe/data/dataset.hpp"

namespace gavamoe::cli {
namespace {

struct StatsOptions {
  std::string data;
  int split = 1;
  bool json = false;
};

size_t word_count(const std::string& text) {
  std::istringstream words(text);
  size_t count = 0;
  for (std::string word; words >> word;) ++count;
  return count;
}

nlohmann::json dataset_stats(const Dataset& dataset) {
  std::set<std::string> features;
  std::map<std::string, int64_t> histogram;
  std::vector<size_t> lengths;
  for (const Record& record : dataset.records) {
    std::ostringstream rating;
    rating << record.rating;
    ++histogram[rating.str()];
    if (!record.has_text) continue;
    features.insert(record.feature);
    lengths.push_back(word_count(record.explanation));
  }
  nlohmann::json stats;
  stats["path"] = dataset.path;
  stats["records"] = dataset.records.size();
  stats["users"] = dataset.users.size();
  stats["items"] = dataset.items.size();
  for (Subset subset : kSubsets)
    stats["subsets"][subset_name(subset)] = dataset.subset(subset).size();
  stats["features"] = features.size();
  stats["rating_histogram"] = histogram;
  stats["has_text"] = dataset.has_text;
  if (!lengths.empty()) {
    std::sort(lengths.begin(), lengths.end());
    double total = 0;
    for (size_t length : lengths) total += static_cast<double>(length);
    stats["explanation_words"] = {{"mean", total / static_cast<double>(lengths.size())},
                                  {"median", lengths[lengths.size() / 2]},
                                  {"min", lengths.front()},
                                  {"max", lengths.back()}};
  }
  return stats;
}

void print_table(const nlohmann::json& stats) {
  std::printf("dataset     %s\n", stats["path"].get<std::string>().c_str());
  for (const char* key : {"records", "users", "items", "features"})
    std::printf("%-11s %lld\n", key, stats[key].get<long long>());
  for (Subset subset : kSubsets)
    std::printf("%-11s %lld\n", subset_name(subset),
                stats["subsets"][subset_name(subset)].get<long long>());
  std::printf("ratings    ");
  for (const auto& [rating, count] : stats["rating_histogram"].items())
    std::printf(" %s:%lld", rating.c_str(), count.get<long long>());
  std::printf("\n");
  if (stats.contains("explanation_words")) {
    const auto& words = stats["explanation_words"];
    std::printf("explanation words: mean %.1f, median %lld, min %lld, max %lld\n",
                words["mean"].get<double>(), words["median"].get<long long>(),
                words["min"].get<long long>(), words["max"].get<long long>());
  }
}

}  // namespace

void register_data_stats(CLI::App* data, CommonOptions& common) {
  auto options = std::make_shared<StatsOptions>();
  CLI::App* command =
      data->add_subcommand("stats", "Counts, rating histogram, explanation lengths");
  command->add_option("--data", options->data, "Dataset folder or .jsonl file")->required();
  command->add_option("--split", options->split, "Fold 1..5 for folders with index files")
      ->check(integer_from_to(1, 5));
  command->add_flag("--json", options->json, "Print one JSON object instead of a table");
  add_common_options(command, common);
  command->callback([options, &common] {
    const RunConfig config = setup_run(common);
    if (print_sequence_stats(options->data, options->json)) return;  // a sequence folder
    const Dataset dataset = load_command_dataset(config, options->data, options->split);
    // The findings (bad ratings, leaks) the training commands log, so the counts below are read
    // with them in mind.
    warn_about_data(dataset, check_dataset(dataset));
    const nlohmann::json stats = dataset_stats(dataset);
    if (options->json) {
      std::printf("%s\n", stats.dump().c_str());
    } else {
      print_table(stats);
    }
  });
}

}  // namespace gavamoe::cli
