// `gavamoe data check --data PATH [--split N] [--json]`: the leak and sanity checks of
// data/data_check.hpp on one fold, or of rec/sequence_check.hpp on a sequence folder, as a
// table (or one JSON object). Exit status 0 when the split is clean or has only findings that
// do not leak, 1 when validation or test records (or items) leak into training (so scripts can
// gate on it), 2 on a user error.
#include "gavamoe/data/data_check.hpp"

#include <nlohmann/json.hpp>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/rec/sequence_check.hpp"

namespace gavamoe::cli {
namespace {

struct CheckOptions {
  std::string data;
  int split = 0;
  bool json = false;
};

nlohmann::ordered_json check_json(const std::string& path, const DataCheck& check) {
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (const DataFinding& finding : check.findings)
    findings.push_back({{"check", finding.what},
                        {"count", finding.count},
                        {"of", finding.out_of},
                        {"leak", finding.leak},
                        {"examples", finding.examples}});
  return {{"path", path}, {"leaks", check.leaks()}, {"findings", findings}};
}

void print_check(const std::string& path, const DataCheck& check) {
  std::printf("dataset %s\n", path.c_str());
  for (const DataFinding& finding : check.findings) {
    std::printf("%8lld of %-8lld %s%s\n", static_cast<long long>(finding.count),
                static_cast<long long>(finding.out_of), finding.what.c_str(),
                finding.leak && finding.count > 0 ? "  LEAK" : "");
    for (const std::string& example : finding.examples)
      std::printf("                      e.g. %s\n", example.c_str());
  }
  std::printf("%s\n", check.leaks()   ? "the split leaks: validation/test records are in train"
                      : check.clean() ? "clean"
                                      : "no leak");
}

}  // namespace

void register_data_check(CLI::App* data, CommonOptions& common) {
  auto options = std::make_shared<CheckOptions>();
  CLI::App* command = data->add_subcommand(
      "check", "Leaks between partitions, repeated pairs, recited explanations, bad ratings");
  command->add_option("--data", options->data, "Dataset folder, .jsonl file or sequence folder")
      ->required();
  command->add_option("--split", options->split, "Fold 1..5 for folders with index files")
      ->check(integer_from_to(1, 5));
  command->add_flag("--json", options->json, "Print one JSON object instead of a table");
  add_common_options(command, common);
  command->callback([options, &common] {
    const RunConfig config = setup_run(common);
    std::string path = options->data;
    DataCheck check;
    if (is_sequence_folder(options->data)) {
      if (options->split > 0)
        throw Error("data check: --split does not apply to the sequence folder " + options->data +
                    " (its split is leave-one-out)");
      check = check_sequences(read_sequence_folder(options->data));
    } else {
      const Dataset dataset = load_command_dataset(config, options->data, options->split);
      path = dataset.path;
      check = check_dataset(dataset);
    }
    if (options->json)
      std::printf("%s\n", check_json(path, check).dump().c_str());
    else
      print_check(path, check);
    if (check.leaks()) throw CommandStatus{1};
  });
}

}  // namespace gavamoe::cli
