// `gavamoe data` commands for sequence folders (RecExplainer's format, sequence_dataset.hpp):
//
//   gavamoe data import-movielens --in ml-100k/ --out DIR [--min-count 5] [--seed S]
//   gavamoe data import-amazon-sequences --in reviews_X_5.json.gz [--meta meta_X.json.gz]
//                                        --out DIR [--min-count 5] [--seed S]
// and the sequence statistics `data stats` prints for such a folder.
#include <chrono>
#include <cstdio>
#include <memory>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/rec/amazon_sequences.hpp"
#include "gavamoe/rec/movielens_import.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe::cli {
namespace {

struct SequenceImportArgs {
  std::string in;
  std::string meta;
  std::string out;
  int64_t min_count = 5;
};

void log_import(const std::string& out, const SequenceDataset& data, int64_t min_count,
                const SequenceBuildReport& r, double seconds) {
  const auto stats = sequence_stats(data);
  log::info(
      "%s: %zu users, %zu items, %lld interactions (of %lld read; %lld repeated (user, "
      "item) records dropped, the earliest kept; %lld-core: %lld users and %lld items "
      "removed in %lld passes); %lld repeated titles renamed; %.1f s",
      out.c_str(), data.users.size(), data.items.size(),
      static_cast<long long>(r.interactions_kept), static_cast<long long>(r.interactions_read),
      static_cast<long long>(r.repeats_dropped), static_cast<long long>(min_count),
      static_cast<long long>(r.users_removed), static_cast<long long>(r.items_removed),
      static_cast<long long>(r.core_passes), static_cast<long long>(r.titles_renamed), seconds);
  log::info("%s: sequence length min %lld, median %lld, max %lld; %lld users with one item",
            out.c_str(), stats.at("sequence_length").at("min").get<long long>(),
            stats.at("sequence_length").at("median").get<long long>(),
            stats.at("sequence_length").at("max").get<long long>(),
            stats.at("single_item_users").get<long long>());
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void add_import_options(CLI::App* command, SequenceImportArgs& args, CommonOptions& common) {
  command->add_option("--out", args.out, "Output sequence folder")->required();
  command
      ->add_option("--min-count", args.min_count,
                   "k of the iterative user/item k-core filter (1: none)")
      ->check(integer_at_least(1));
  add_common_options(command, common);
}

void register_import_movielens(CLI::App* data, CommonOptions& common) {
  auto args = std::make_shared<SequenceImportArgs>();
  CLI::App* command = data->add_subcommand(
      "import-movielens", "MovieLens-100k (u.data, u.item, u.user) to a sequence folder");
  command->add_option("--in", args->in, "The ml-100k folder")->required();
  add_import_options(command, *args, common);
  command->callback([args, &common] {
    setup_run(common);
    const auto start = std::chrono::steady_clock::now();
    SequenceBuildOptions options{args->min_count, common.seed};
    SequenceBuildReport report;
    const SequenceDataset data = import_movielens(args->in, options, &report);
    write_sequence_folder(args->out, data);
    log_import(args->out, data, args->min_count, report, seconds_since(start));
  });
}

void register_import_amazon_sequences(CLI::App* data, CommonOptions& common) {
  auto args = std::make_shared<SequenceImportArgs>();
  CLI::App* command = data->add_subcommand(
      "import-amazon-sequences",
      "Amazon reviews (reviewerID, asin, unixReviewTime) to a sequence folder");
  command->add_option("--in", args->in, "Reviews as JSON lines (.json or .json.gz)")->required();
  command->add_option("--meta", args->meta,
                      "Item metadata as JSON lines (meta_*.json.gz) for titles; without it "
                      "items are named by their asin");
  add_import_options(command, *args, common);
  command->callback([args, &common] {
    setup_run(common);
    const auto start = std::chrono::steady_clock::now();
    SequenceBuildOptions options{args->min_count, common.seed};
    AmazonSequenceReport report;
    const SequenceDataset data = import_amazon_sequences(args->in, args->meta, options, &report);
    write_sequence_folder(args->out, data);
    if (report.reviews_without_title > 0)
      log::info("%s: %lld of %lld reviews dropped: their item has no title in %s",
                args->out.c_str(), static_cast<long long>(report.reviews_without_title),
                static_cast<long long>(report.reviews), args->meta.c_str());
    if (args->meta.empty())
      log::info("%s: no --meta: items are named by their asin and have no titles",
                args->out.c_str());
    log_import(args->out, data, args->min_count, report.build, seconds_since(start));
  });
}

}  // namespace

void register_data_sequences(CLI::App* data, CommonOptions& common) {
  register_import_movielens(data, common);
  register_import_amazon_sequences(data, common);
}

bool print_sequence_stats(const std::string& path, bool as_json) {
  if (!is_sequence_folder(path)) return false;
  const nlohmann::json stats = sequence_stats(read_sequence_folder(path));
  if (as_json) {
    std::printf("%s\n", stats.dump().c_str());
    return true;
  }
  const auto& length = stats.at("sequence_length");
  std::printf("dataset     %s (sequences)\n", path.c_str());
  for (const char* key : {"users", "items", "interactions"})
    std::printf("%-11s %lld\n", key, stats.at(key).get<long long>());
  std::printf("length      min %lld, median %lld, mean %.1f, max %lld\n",
              length.at("min").get<long long>(), length.at("median").get<long long>(),
              length.at("mean").get<double>(), length.at("max").get<long long>());
  std::printf(
      "metadata    %lld titles, %lld with features, %lld with description, %lld with "
      "brand; %lld items share a title\n",
      stats.at("items_with_title").get<long long>(),
      stats.at("items_with_features").get<long long>(),
      stats.at("items_with_description").get<long long>(),
      stats.at("items_with_brand").get<long long>(),
      stats.at("items_sharing_a_title").get<long long>());
  std::printf(
      "repeats     %lld consecutive, %lld in all; %lld users' last (test) item is "
      "already in their history (kept: ranked among the unmasked items, as UniRec)\n",
      stats.at("repeated_consecutive_items").get<long long>(),
      stats.at("repeated_items").get<long long>(),
      stats.at("last_item_already_in_history").get<long long>());
  std::printf("one item    %lld users (no target; skipped by rec train and rec label)\n",
              stats.at("single_item_users").get<long long>());
  return true;
}

}  // namespace gavamoe::cli
