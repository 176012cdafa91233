// Recommender: what every target recommender gives the rest of the project.
//
// A score is the dot product of a user vector and an item vector (UniRec's InnerProductScorer,
// tau 1, no biases). item_vectors() is the item table looked up for ids 0..M-1, so row 0, the
// padding id, is zero and never trained (UniRec computes its full-softmax scores the same way).
// Shapes: B users, L history length (left-padded with id 0), D vector width, M items.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

namespace gavamoe {

struct UserBatch {
  torch::Tensor users;      // [B] int64 uids (MF)
  torch::Tensor histories;  // [B, L] int64 item ids, most recent last (SASRec)
};

class Recommender : public torch::nn::Module {
 public:
  virtual std::string kind() const = 0;  // "sasrec" | "mf"
  virtual int64_t dim() const = 0;
  virtual int64_t n_items() const = 0;
  // Length L of the left-padded histories user_vectors() reads (0: it reads the user ids).
  virtual int64_t history_length() const = 0;
  virtual torch::Tensor user_vectors(const UserBatch& batch) = 0;    // [B, D]
  virtual torch::Tensor item_vectors(const torch::Tensor& ids) = 0;  // [..., D]
  torch::Tensor item_vectors();                                      // [M, D]
  torch::Tensor scores(const UserBatch& batch);                      // [B, M]
};

using RecommenderPtr = std::shared_ptr<Recommender>;

// Upper bounds of the recommenders' sizes, far above RecExplainer's (SASRec 256 wide, 2 layers,
// 9 items of history; MF 512 wide), so that only a mistyped size reaches them instead of an
// allocation of minutes or a LibTorch failure.
constexpr int64_t kMaxRecWidth = int64_t{1} << 16;
constexpr int64_t kMaxRecLayers = 1024;
constexpr int64_t kMaxRecFeedForward = int64_t{1} << 20;
constexpr int64_t kMaxRecHistory = int64_t{1} << 16;
// A gavamoe::Error naming `key` when `value` is outside 1..`high`.
void check_rec_size(const std::string& key, int64_t value, int64_t high);

// N(0, std) for embedding and linear weights, zero biases and padding rows, LayerNorm 1 and 0
// (UniRec's init_method "normal").
void init_recommender(torch::nn::Module& module, double std);

}  // namespace gavamoe
