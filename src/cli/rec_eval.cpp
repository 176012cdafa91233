// gavamoe rec eval (full-ranking metrics beside the popularity and random baselines) and
// gavamoe rec label (the alignment stage's label files).
#include <cstdio>
#include <memory>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/rec/full_ranking.hpp"
#include "gavamoe/rec/labels.hpp"
#include "gavamoe/rec/rec_run.hpp"

namespace gavamoe::cli {
namespace {

struct RecEvalArgs {
  std::string run;
  std::string subset = "test";
  bool json = false;
};

struct RecLabelArgs {
  std::string run;
  std::string out;
  int64_t times = 1;
};

void print_table(const nlohmann::json& result) {
  std::printf("%s on %s: %lld users, %s\n", result.at("recommender").get<std::string>().c_str(),
              result.at("subset").get<std::string>().c_str(),
              static_cast<long long>(result.at("users").get<int64_t>()),
              "full ranking, history masked");
  std::printf("%-9s %9s %11s %9s\n", "metric", "model", "popularity", "random");
  for (const char* kind : {"hr", "ndcg", "mrr"})
    for (int64_t k : kRankCutoffs) {
      const std::string name = std::string(kind) + "@" + std::to_string(k);
      std::printf("%-9s %9.4f %11.4f %9.4f\n", name.c_str(),
                  result.at("model").at(name).get<double>(),
                  result.at("popularity").at(name).get<double>(),
                  result.at("random").at(name).get<double>());
    }
}

void run_rec_eval(const RecEvalArgs& args, const CommonOptions& common) {
  setup_run(common);
  if (args.subset != "test" && args.subset != "validation")
    throw Error("rec eval: --subset must be test or validation");
  const RecRun run = load_rec_run(args.run);
  const SequenceDataset data = load_run_data(run);
  const LeaveOneOutSplit split = leave_one_out(data, run.split);
  const auto& targets = args.subset == "test" ? split.test : split.validation;
  if (targets.empty()) throw Error("rec eval: no user has a " + args.subset + " target");
  const RankingMetrics model = evaluate_recommender(*run.recommender, data, targets);
  const RankingMetrics popularity =
      evaluate_item_scores(training_popularity(data, split), data, targets);
  const RankingMetrics random = evaluate_item_scores(torch::zeros({data.n_items()}), data, targets);
  const nlohmann::json result = {{"model", model.means()},   {"popularity", popularity.means()},
                                 {"random", random.means()}, {"users", model.users()},
                                 {"subset", args.subset},    {"recommender", run.model}};
  if (args.json)
    std::printf("%s\n", result.dump().c_str());
  else
    print_table(result);
}

void run_rec_label(const RecLabelArgs& args, const CommonOptions& common) {
  setup_run(common);
  const RecRun run = load_rec_run(args.run);
  const SequenceDataset data = load_run_data(run);
  LabelOptions options;
  options.times = args.times;
  options.seed = common.seed;
  const LabelReport report = write_labels(*run.recommender, data, args.out, options);
  if (report.skipped_users > 0)
    log::warn("rec label: %lld user(s) with a single item have no rows",
              static_cast<long long>(report.skipped_users));
  if (report.neg_from_lower_half > 0)
    log::info(
        "rec label: %lld row(s) drew neg from the lower half of the unmasked ranking "
        "(more than half of the items are in the history)",
        static_cast<long long>(report.neg_from_lower_half));
  log::info("%s: train_top.txt %lld rows, test_top.txt %lld rows, sim_item.txt %lld rows",
            args.out.c_str(), static_cast<long long>(report.train_rows),
            static_cast<long long>(report.test_rows), static_cast<long long>(data.n_items() - 1));
}

}  // namespace

void register_rec_eval(CLI::App* rec, CommonOptions& common) {
  CLI::App* command = rec->add_subcommand(
      "eval", "Full-ranking HR/NDCG/MRR@1,5,10,20 with popularity and random baselines");
  auto args = std::make_shared<RecEvalArgs>();
  command->add_option("--run", args->run, "Run folder of rec train")->required();
  command->add_option("--subset", args->subset, "test or validation");
  command->add_flag("--json", args->json, "Print one JSON object instead of a table");
  add_common_options(command, common);
  command->callback([args, &common] { run_rec_eval(*args, common); });
}

void register_rec_label(CLI::App* rec, CommonOptions& common) {
  CLI::App* command = rec->add_subcommand(
      "label", "Write train_top.txt, test_top.txt and sim_item.txt (RecExplainer's labels)");
  auto args = std::make_shared<RecLabelArgs>();
  command->add_option("--run", args->run, "Run folder of rec train")->required();
  command->add_option("--out", args->out, "Output folder")->required();
  command->add_option("--times", args->times, "test_top.txt rows per user (MF's pipeline: 6)")
      ->check(integer_at_least(1));
  add_common_options(command, common);
  command->callback([args, &common] { run_rec_label(*args, common); });
}

}  // namespace gavamoe::cli
