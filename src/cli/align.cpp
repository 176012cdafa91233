// gavamoe align: RecExplainer's alignment of an LLM to the target recommender.
//
//   gavamoe align data --rec RUN --labels DIR --out DIR [--data DIR] [--variant V]
//                      [--max-train-per-user N] [--seed S]
// builds the alignment-task samples (align/alignment_data.hpp) of the variants from the
// recommender's label files (`rec label`) and its sequence folder (the run's, or --data).
#include <cstdio>
#include <memory>

#include "gavamoe/align/alignment_data.hpp"
#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/rec/rec_run.hpp"

namespace gavamoe::cli {
namespace {

struct AlignDataArgs {
  std::string rec;
  std::string labels;
  std::string data;
  std::string out;
  std::string variant = "all";
  int64_t max_train_per_user = 0;
};

void run_align_data(const AlignDataArgs& args, const CommonOptions& common) {
  setup_run(common);
  const auto variants = parse_align_variants(args.variant, "--variant");
  const RecRun run = load_rec_run(args.rec);
  const SequenceDataset data =
      args.data.empty() ? load_run_data(run) : read_sequence_folder(args.data);
  if (data.n_items() != run.recommender->n_items())
    throw file_error(data.path, "has " + std::to_string(data.n_items() - 1) +
                                    " items, the recommender of " + args.rec + " " +
                                    std::to_string(run.recommender->n_items() - 1));
  const LabelFiles labels = read_label_files(args.labels, data);
  AlignDataOptions options;
  options.pipeline = run.model;
  options.max_train_per_user = args.max_train_per_user;
  options.seed = common.seed;
  const AlignData samples = make_alignment_data(data, labels, options);
  nlohmann::json info = {{"rec_run", args.rec},
                         {"labels", args.labels},
                         {"data", data.path},
                         {"pipeline", options.pipeline},
                         {"max_history", options.max_history},
                         {"max_train_per_user", options.max_train_per_user},
                         {"seed", options.seed}};
  write_alignment_data(args.out, samples, variants, info);
  const nlohmann::json counts = alignment_counts(samples, variants);
  for (AlignVariant variant : variants) {
    const char* name = align_variant_name(variant);
    std::printf("%-9s train %7lld  valid %6lld\n", name,
                static_cast<long long>(counts["train"][name]["total"].get<int64_t>()),
                static_cast<long long>(counts["valid"][name]["total"].get<int64_t>()));
  }
  log::info("align data: %s pipeline, samples in %s", options.pipeline.c_str(), args.out.c_str());
}

}  // namespace

void register_align(CLI::App& root, CommonOptions& common) {
  CLI::App* align =
      root.add_subcommand("align", "RecExplainer: align an LLM to the target recommender");
  align->require_subcommand(1);
  CLI::App* command =
      align->add_subcommand("data", "Build the alignment-task samples from the label files");
  auto args = std::make_shared<AlignDataArgs>();
  command->add_option("--rec", args->rec, "Run folder of rec train (the target recommender)")
      ->required();
  command->add_option("--labels", args->labels, "Folder written by rec label")->required();
  command->add_option("--data", args->data, "Sequence folder (default: the recommender's)");
  command->add_option("--out", args->out, "Output folder")->required();
  command->add_option("--variant", args->variant, "behaviour, intention, hybrid or all");
  command
      ->add_option("--max-train-per-user", args->max_train_per_user,
                   "Keep each user's last N training rows (0: all)")
      ->check(CLI::NonNegativeNumber);
  add_common_options(command, common);
  command->callback([args, &common] { run_align_data(*args, common); });
}

}  // namespace gavamoe::cli
