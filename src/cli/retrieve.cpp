// `gavamoe retrieve`: the retrieval baseline. Each record of a subset gets the explanation of
// the nearest training record of the same item (else user), nearest by the VAE's latents; the
// output has the columns of `gavamoe infer`, so `gavamoe eval` scores both alike.
//
//   gavamoe retrieve --data PATH [--split N] --vae VAE_RUN [--subset test] --out FILE
//                    [--format jsonl|csv|xlsx]
#include <cstdio>
#include <memory>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/infer/retrieval_baseline.hpp"

namespace gavamoe::cli {
namespace {

struct RetrieveArgs {
  std::string data;
  int split = 0;  // 0: the config's data.split
  std::string vae;
  std::string subset = "test";
  std::string out;
  std::string format;  // empty: from the extension of --out
};

std::vector<Record> records_at(const Dataset& data, Subset subset) {
  std::vector<Record> records;
  for (int64_t r : data.subset(subset)) records.push_back(data.records[r]);
  return records;
}

void run_retrieve(const RetrieveArgs& args, const CommonOptions& common) {
  const RunConfig config = setup_run(common);
  const PredictionFormat format = prediction_format_for(args.out, args.format);
  const Dataset data = load_command_dataset(config, args.data, args.split);
  refuse_output_over_inputs("--out", args.out,
                            {{data.path, "the dataset"}, {args.vae, "the VAE run folder"}});
  data.require_text("retrieve");
  const std::vector<Record> train = records_at(data, Subset::train);
  const std::vector<Record> queries = records_at(data, parse_subset(args.subset));
  if (train.empty()) throw file_error(args.data, "the training subset has no records");
  if (queries.empty()) throw file_error(args.data, "subset '" + args.subset + "' has no records");
  TrainedVae vae = load_trained_vae(args.vae);

  // The policy of `gavamoe infer`: ids the VAE run does not know are an error unless
  // vae.unknown_ids=fallback.
  const UnknownIds policy = parse_unknown_ids(config.get<std::string>("vae.unknown_ids"));
  RetrievalResult result;
  try {
    result = retrieve_explanations(vae, train, queries, policy);
  } catch (const Error& e) {
    throw Error(data.path + " with the VAE run " + args.vae + ": " + e.what());
  }
  log::info(
      "retrieve: %zu records of %s from %zu training records: %lld by item, %lld by user, "
      "%lld by any record",
      queries.size(), args.subset.c_str(), train.size(),
      static_cast<long long>(result.count(RetrievedFrom::same_item)),
      static_cast<long long>(result.count(RetrievedFrom::same_user)),
      static_cast<long long>(result.count(RetrievedFrom::any_record)));
  remove_stale_temporaries_of(args.out);
  write_predictions(args.out, result.rows, format);
  std::printf("records %zu  retrieval %.2f s\nwrote %s\n", result.rows.size(), result.seconds,
              args.out.c_str());
}

}  // namespace

void register_retrieve(CLI::App& root, CommonOptions& common) {
  CLI::App* command = root.add_subcommand(
      "retrieve", "Baseline: the explanation of the nearest training record of the same item");
  auto args = std::make_shared<RetrieveArgs>();
  command->add_option("--data", args->data, "Dataset")->required();
  command->add_option("--split", args->split, "Fold 1..5 (default: data.split)")
      ->check(integer_from_to(1, 5));
  command->add_option("--vae", args->vae, "VAE run folder (gavamoe pretrain-vae --out)")
      ->required();
  command->add_option("--subset", args->subset, "train, validation or test")
      ->check(CLI::IsMember({"train", "validation", "test"}));
  command->add_option("--out", args->out, "Predictions file (.jsonl, .csv or .xlsx)")->required();
  command->add_option("--format", args->format, "jsonl, csv or xlsx (default: from --out)")
      ->check(CLI::IsMember({"jsonl", "csv", "xlsx"}));
  add_common_options(command, common);
  command->callback([args, &common] { run_retrieve(*args, common); });
}

}  // namespace gavamoe::cli
