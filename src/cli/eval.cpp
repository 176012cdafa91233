// `gavamoe eval`: BLEU, ROUGE and explainability metrics of generated explanations, with the
// PEPLER/PETER definitions. Prints a table; --out also writes the metrics as one JSON object.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/data/data_check.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/eval/evaluate.hpp"
#include "gavamoe/eval/predictions.hpp"
#include "gavamoe/eval/report.hpp"

namespace gavamoe::cli {
namespace {

struct EvalArgs {
  std::string pred;
  std::string data;
  std::string out;
};

// PEPLER takes the feature set and the rating range from the whole dataset.
void use_dataset(const std::string& path, const RunConfig& config, eval::EvalOptions& options) {
  const Dataset dataset = load_command_dataset(config, path);
  if (dataset.records.empty()) throw file_error(path, "no records");
  warn_about_data(dataset, check_dataset(dataset));
  double low = dataset.records[0].rating, high = low;
  for (const Record& record : dataset.records) {
    if (!record.feature.empty()) options.feature_set.push_back(record.feature);
    low = std::min(low, record.rating);
    high = std::max(high, record.rating);
  }
  options.rating_range = std::make_pair(low, high);
  if (options.feature_set.empty())
    log::warn("%s has no features: FMR, FCR and DIV use the features of the predictions",
              path.c_str());
}

}  // namespace

void register_eval(CLI::App& root, CommonOptions& common) {
  CLI::App* command =
      root.add_subcommand("eval", "BLEU, ROUGE and explainability metrics (PEPLER definitions)");
  auto args = std::make_shared<EvalArgs>();
  command
      ->add_option("--pred", args->pred,
                   "Predictions: JSON lines or .csv with reference, generated "
                   "[, feature, rating, predicted_rating]")
      ->required();
  command->add_option("--data", args->data,
                      "Dataset whose feature set and rating range the metrics use "
                      "(default: those of the predictions)");
  command->add_option("--out", args->out, "Write the metrics here as JSON");
  add_common_options(command, common);
  command->callback([args, &common] {
    const RunConfig config = setup_run(common);
    if (!args->out.empty())
      refuse_output_over_inputs(
          "--out", args->out, {{args->pred, "the predictions file"}, {args->data, "the dataset"}});
    const eval::Predictions rows = eval::read_predictions(args->pred);
    eval::EvalOptions options;
    if (!args->data.empty()) use_dataset(args->data, config, options);
    const nlohmann::ordered_json metrics = eval::evaluate(rows, options);
    if (!args->out.empty()) write_file_atomic(args->out, metrics.dump(2) + "\n");
    std::fputs(eval::format_metrics_table(metrics).c_str(), stdout);
  });
}

}  // namespace gavamoe::cli
