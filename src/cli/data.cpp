// `gavamoe data`: dataset commands (stats, synth, import-amazon, tokenizer).
#include <chrono>
#include <memory>
#include <set>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/data/amazon_import.hpp"
#include "gavamoe/data/jsonl.hpp"
#include "gavamoe/data/synth.hpp"
#include "gavamoe/data/tokenizer_corpus.hpp"
#include "gavamoe/text/sentencepiece_tokenizer.hpp"

namespace gavamoe::cli {
namespace {

struct ImportOptions {
  std::string in;
  std::string out;
  AmazonImportOptions import;
};

struct SynthCommandOptions {
  std::string out;
  SynthOptions synth;
};

struct TokenizerCommandOptions {
  std::string data;
  int split = 1;
  int vocab_size = 2000;
  std::string out;
};

size_t distinct(const std::vector<Record>& records, std::string Record::*field) {
  std::set<std::string> values;
  for (const Record& record : records) values.insert(record.*field);
  return values.size();
}

void register_synth(CLI::App* data, CommonOptions& common) {
  auto options = std::make_shared<SynthCommandOptions>();
  CLI::App* command = data->add_subcommand(
      "synth", "Write a synthetic dataset with planted user groups (plus truth.jsonl)");
  command->add_option("--out", options->out, "Output dataset folder")->required();
  command->add_option("--users", options->synth.users, "Number of users");
  command->add_option("--items", options->synth.items, "Number of items");
  command->add_option("--clusters", options->synth.clusters, "Number of hidden user groups");
  command->add_option("--records", options->synth.records, "Number of records");
  add_common_options(command, common);
  command->callback([options, &common] {
    setup_run(common);
    options->synth.seed = common.seed;
    const SynthDataset dataset = make_synthetic_dataset(options->synth);
    write_synthetic_dataset(options->out, dataset, common.seed);
    log::info("%s: %zu records, %zu users, %zu items, %d groups", options->out.c_str(),
              dataset.records.size(), distinct(dataset.records, &Record::user),
              distinct(dataset.records, &Record::item), options->synth.clusters);
  });
}

void register_import_amazon(CLI::App* data, CommonOptions& common) {
  auto options = std::make_shared<ImportOptions>();
  CLI::App* command = data->add_subcommand(
      "import-amazon", "Extract explanation records from raw Amazon 5-core reviews");
  command->add_option("--in", options->in, "Reviews as JSON lines (.json or .json.gz)")->required();
  command->add_option("--out", options->out, "Output dataset folder")->required();
  command->add_option("--min-feature-count", options->import.min_feature_count,
                      "Keep feature terms seen near an opinion word in at least N clauses");
  command->add_flag("--keep-duplicates", options->import.keep_duplicates,
                    "Keep repeated reviews (same user and item, or same user and text); by "
                    "default only the earliest is kept, so no review lands on both sides of a "
                    "split");
  add_common_options(command, common);
  command->callback([options, &common] {
    setup_run(common);
    const auto start = std::chrono::steady_clock::now();
    const AmazonImport result = import_amazon_reviews(options->in, options->import);
    if (result.records.empty())
      throw file_error(options->in, "no review gave an explanation record");
    write_dataset_folder(options->out, result.records, common.seed);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int64_t kept = result.reviews - result.duplicate_pairs - result.duplicate_texts;
    log::info(
        "%s: %zu records, %zu users, %zu items, %zu features used (%zu mined); of %lld "
        "reviews %lld repeated a (user, item) and %lld a (user, text) and were dropped, %lld of "
        "the %lld kept (%.1f%%) gave no record; %.1f s",
        options->out.c_str(), result.records.size(), distinct(result.records, &Record::user),
        distinct(result.records, &Record::item), distinct(result.records, &Record::feature),
        result.features.size(), static_cast<long long>(result.reviews),
        static_cast<long long>(result.duplicate_pairs),
        static_cast<long long>(result.duplicate_texts),
        static_cast<long long>(result.reviews_without_record), static_cast<long long>(kept),
        100.0 * static_cast<double>(result.reviews_without_record) / static_cast<double>(kept),
        seconds);
  });
}

void register_tokenizer(CLI::App* data, CommonOptions& common) {
  auto options = std::make_shared<TokenizerCommandOptions>();
  CLI::App* command = data->add_subcommand(
      "tokenizer", "Train a SentencePiece BPE tokenizer on a dataset's training explanations");
  command->add_option("--data", options->data, "Dataset folder or .jsonl file")->required();
  command->add_option("--split", options->split, "Fold 1..5 whose training subset is used")
      ->check(integer_from_to(1, 5));
  command->add_option("--vocab-size", options->vocab_size, "Vocabulary size")->required();
  command->add_option("--out", options->out, "Output model file (tok.model)")->required();
  add_common_options(command, common);
  command->callback([options, &common] {
    const RunConfig config = setup_run(common);
    const Dataset dataset = load_command_dataset(config, options->data, options->split);
    TokenizerTrainOptions train;
    train.vocab_size = options->vocab_size;
    train.seed = common.seed;
    const std::vector<std::string> corpus = tokenizer_corpus(dataset);
    train_tokenizer(corpus, train, options->out);
    const SentencePieceTokenizer tokenizer(options->out);
    log::info("%s: %d pieces from %zu sentences", options->out.c_str(), tokenizer.vocab_size(),
              corpus.size());
  });
}

}  // namespace

void register_data(CLI::App& root, CommonOptions& common) {
  CLI::App* data = root.add_subcommand("data", "Make, import and inspect datasets");
  data->require_subcommand(1);
  register_data_stats(data, common);
  register_data_check(data, common);
  register_synth(data, common);
  register_import_amazon(data, common);
  register_data_sequences(data, common);
  register_tokenizer(data, common);
}

}  // namespace gavamoe::cli
