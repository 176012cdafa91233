// gavamoe rec: the target recommenders of RecExplainer.
//
//   gavamoe rec train --model sasrec|mf --data SEQ_DIR --out RUN [--config F] [--set rec.k=v]
//                     [--nproc N]
//   gavamoe rec train --resume RUN [--nproc N]   (continues a killed run from its checkpoint)
// (--nproc N: N data-parallel worker processes, command.hpp)
//   gavamoe rec eval  --run RUN [--subset test|validation] [--json]   (rec_eval.cpp)
//   gavamoe rec label --run RUN --out DIR [--times N]                 (rec_eval.cpp)
#include <cstdio>
#include <filesystem>
#include <memory>

#include "gavamoe/cli/command.hpp"
#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/core/log.hpp"
#include "gavamoe/rec/rec_run.hpp"
#include "gavamoe/rec/rec_trainer.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"
#include "gavamoe/train/data_parallel.hpp"

namespace gavamoe::cli {

void register_rec_eval(CLI::App* rec, CommonOptions& common);
void register_rec_label(CLI::App* rec, CommonOptions& common);

namespace {

struct RecTrainArgs {
  std::string model;
  std::string data;
  std::string out;
  std::string resume;
  int nproc = 1;
};

void print_summary(const nlohmann::json& metrics, const std::string& run_dir) {
  if (metrics.value("stopped", false)) return;
  const auto& v = metrics.at("validation");
  std::printf("model                 %s (%lld parameters)\n",
              metrics.at("model").get<std::string>().c_str(),
              static_cast<long long>(metrics.at("parameters").get<int64_t>()));
  if (v.contains("ndcg@10"))
    std::printf("best validation       after epoch %lld: ndcg@10 %.4f, hr@10 %.4f, mrr@10 %.4f\n",
                static_cast<long long>(metrics.at("best_epoch").get<int64_t>()),
                v.at("ndcg@10").get<double>(), v.at("hr@10").get<double>(),
                v.at("mrr@10").get<double>());
  std::printf("epochs                %lld%s\n",
              static_cast<long long>(metrics.at("epochs_run").get<int64_t>()),
              metrics.at("early_stopped").get<bool>() ? " (early stop)" : "");
  if (metrics.at("seconds_per_epoch").is_number())
    std::printf("training time         %.1f s per epoch, %.1f s in all (validation %.1f s)\n",
                metrics.at("seconds_per_epoch").get<double>(),
                metrics.at("train_seconds").get<double>(),
                metrics.at("validation_seconds").get<double>());
  std::printf("outputs in %s\n", run_dir.c_str());
}

void run_rec_train(const RecTrainArgs& args, const CommonOptions& common) {
  if (run_as_launcher("rec train", args.nproc, common)) return;
  RunConfig config = setup_worker_run(common);
  const bool resume = !args.resume.empty();
  std::string run_dir = args.out;
  std::string data_path;
  if (resume) {
    run_dir = args.resume;
    const std::string info_path = run_dir + "/" + kRecRunFile;
    if (!std::filesystem::exists(info_path))
      throw file_error(run_dir, "not a `gavamoe rec train` run (no rec.json)");
    config = resumed_run_config("rec train", run_dir, common);
    data_path = json_value<std::string>(read_json_file(info_path), "data", info_path);
    if (!std::filesystem::exists(data_path))
      throw file_error(info_path, "data " + data_path + " does not exist (moved or deleted?)");
  } else {
    set_data_options(config, args.data, 0);
    if (config.at("data.path").is_null()) throw Error("rec train: --data SEQ_DIR is required");
    if (!args.model.empty()) config.set("rec.model=" + nlohmann::json(args.model).dump());
    require_new_run_folder("rec train", run_dir, {"checkpoint", kRecRunFile, kRecModelFile});
    data_path = config.get<std::string>("data.path");
  }
  if (!resume) config.check("rec train");
  const auto options = RecTrainOptions::from_config(config, "", common.seed);
  const SequenceDataset data = read_sequence_folder(data_path);
  check_recommender_run(data, options);
  const std::unique_ptr<DataParallel> parallel = join_workers(options.device, "rec.device");
  const bool is_main = is_main_worker();
  if (is_main) {
    make_dirs(run_dir);
    remove_stale_temporaries(run_dir);
    if (!resume) config.write(run_dir + "/config.json");
    log::set_file(run_dir + "/train.log");
  }
  const auto metrics = resume ? resume_recommender(data, options, run_dir, parallel.get())
                              : train_recommender(data, options, run_dir, parallel.get());
  log::set_file("");
  if (is_main) print_summary(metrics, run_dir);
}

void register_rec_train(CLI::App* rec, CommonOptions& common) {
  CLI::App* command = rec->add_subcommand("train", "Train SASRec or MF on a sequence folder");
  auto args = std::make_shared<RecTrainArgs>();
  auto* model = command->add_option("--model", args->model, "sasrec or mf (default: rec.model)")
                    ->check(CLI::IsMember({"sasrec", "mf"}));
  auto* data = command->add_option("--data", args->data, "Sequence folder (sequential_data.txt)");
  auto* out = command->add_option("--out", args->out, "Run folder for every output");
  command->add_option("--resume", args->resume, "Continue the killed run in this run folder")
      ->excludes(model)
      ->excludes(data)
      ->excludes(out);
  add_nproc_option(command, args->nproc);
  add_common_options(command, common);
  command->callback([args, &common] { run_rec_train(*args, common); });
}

}  // namespace

void register_rec(CLI::App& root, CommonOptions& common) {
  CLI::App* rec = root.add_subcommand("rec", "Target recommenders: train, evaluate, label");
  rec->require_subcommand(1);
  register_rec_train(rec, common);
  register_rec_eval(rec, common);
  register_rec_label(rec, common);
}

}  // namespace gavamoe::cli
