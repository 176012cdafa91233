// A `rec train` run folder and loading the trained recommender from it.
//
//   rec.json           {"format": "gavamoe-rec", "model": "sasrec"|"mf", "data": <absolute
//                      path of the sequence folder>, "split": "separate"|"original",
//                      "n_users", "n_items", "users", "sasrec"|"mf": the model options}
//   model.safetensors  the best validation's weights (UniRec's tensor names)
//   config.json, train.log, train_log.jsonl, metrics.json, checkpoint/ (training_loop.hpp)
// Any other folder given to `rec eval` / `rec label` (an explainer run, a data folder, an
// unfinished run) is one clear error naming it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "gavamoe/rec/leave_one_out.hpp"
#include "gavamoe/rec/recommender.hpp"
#include "gavamoe/rec/sequence_dataset.hpp"

namespace gavamoe {

constexpr const char* kRecRunFile = "rec.json";
constexpr const char* kRecModelFile = "model.safetensors";

struct RecRun {
  std::string dir;
  nlohmann::json info;  // rec.json
  std::string model;    // "sasrec" | "mf"
  std::string data_path;
  HoldoutMode split = HoldoutMode::separate;
  RecommenderPtr recommender;  // weights loaded, eval mode
};

// A fresh (randomly initialised by the caller) model of rec.json's kind and options.
RecommenderPtr make_recommender(const nlohmann::json& info, const std::string& origin);

// Reads rec.json and model.safetensors; errors name the folder.
RecRun load_rec_run(const std::string& dir, torch::Device device = torch::kCPU);

// The run's sequence folder, checked against the sizes the model was trained with.
SequenceDataset load_run_data(const RecRun& run);

}  // namespace gavamoe
