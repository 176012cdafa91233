// The rec run folder (rec_run.hpp).
#include "gavamoe/rec/rec_run.hpp"

#include <filesystem>

#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/model/safetensors.hpp"
#include "gavamoe/rec/matrix_factorization.hpp"
#include "gavamoe/rec/sasrec.hpp"

namespace gavamoe {

namespace fs = std::filesystem;

RecommenderPtr make_recommender(const nlohmann::json& info, const std::string& origin) {
  const auto model = json_value<std::string>(info, "model", origin);
  if (model == "sasrec")
    return std::make_shared<Sasrec>(
        SasrecOptions::from_json(json_value<nlohmann::json>(info, "sasrec", origin), origin));
  if (model == "mf")
    return std::make_shared<MatrixFactorization>(
        MfOptions::from_json(json_value<nlohmann::json>(info, "mf", origin), origin));
  throw Error(origin + ": unknown model '" + model + "' (sasrec or mf)");
}

RecRun load_rec_run(const std::string& dir, torch::Device device) {
  const fs::path root(dir);
  if (!fs::is_directory(root)) throw file_error(dir, "no such run folder");
  const std::string info_path = (root / kRecRunFile).string();
  if (!fs::exists(info_path)) {
    std::string kind = "a data folder or another command's output";
    if (fs::exists(root / "explainer.json")) kind = "a `gavamoe train` (explainer) run";
    if (fs::exists(root / "vae.json")) kind = "a `gavamoe pretrain-vae` run";
    throw file_error(dir, "not a `gavamoe rec train` run (no rec.json): it is " + kind);
  }
  RecRun run;
  run.dir = dir;
  run.info = read_json_file(info_path);
  if (run.info.value("format", "") != "gavamoe-rec")
    throw file_error(info_path, "not a rec run description (format is not gavamoe-rec)");
  run.model = json_value<std::string>(run.info, "model", info_path);
  run.data_path = json_value<std::string>(run.info, "data", info_path);
  run.split = parse_holdout_mode(json_value<std::string>(run.info, "split", info_path),
                                 info_path + " split");
  const std::string weights_path = (root / kRecModelFile).string();
  if (!fs::exists(weights_path))
    throw file_error(dir,
                     "training has not finished (no model.safetensors); continue it with "
                     "`gavamoe rec train --resume " +
                         dir + "`");
  run.recommender = make_recommender(run.info, info_path);
  const SafetensorsReader reader(weights_path);
  for (auto& item : run.recommender->named_parameters(/*recurse=*/true)) {
    if (!reader.contains(item.key()))
      throw file_error(weights_path, "no tensor " + item.key() + " (a " + run.model + " model)");
    if (!torch::IntArrayRef(reader.entry(item.key()).shape).equals(item.value().sizes()))
      throw file_error(weights_path,
                       "tensor " + item.key() + " has another shape than rec.json says");
    torch::NoGradGuard no_grad;
    reader.load_into(item.key(), item.value());
  }
  run.recommender->to(device);
  run.recommender->eval();
  return run;
}

SequenceDataset load_run_data(const RecRun& run) {
  SequenceDataset data = read_sequence_folder(run.data_path);
  const auto items = run.info.value("n_items", int64_t{0});
  const auto users = run.info.value("n_users", int64_t{0});
  if (data.n_items() != items || data.n_users() != users)
    throw file_error(run.data_path, "has " + std::to_string(data.n_items() - 1) +
                                        " items and uids up to " +
                                        std::to_string(data.n_users() - 1) + ", but the run " +
                                        run.dir + " was trained on " + std::to_string(items - 1) +
                                        " and " + std::to_string(users - 1));
  return data;
}

}  // namespace gavamoe
