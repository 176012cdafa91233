// The retrieval baseline against a brute-force search written here: each pair encoded on its
// own, distances in float64, the candidates chosen by hand (same item, else same user, else
// every training record with text); ties go to the earlier record. The rows carry the query's
// VAE cluster and expected rating.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "gavamoe/core/error.hpp"
#include "gavamoe/infer/retrieval_baseline.hpp"
#include "gavamoe/model/vae_predict.hpp"
#include "small_vae.hpp"

namespace gavamoe {
namespace {

TrainedVae random_vae() {
  return test::random_trained_vae({"a", "b", "c"}, {"x", "y", "z"}, 3, 2, 11);
}

Record record(const std::string& user, const std::string& item, const std::string& text) {
  Record r;
  r.user = user;
  r.item = item;
  r.rating = 4;
  r.feature = "sound";
  r.explanation = text;
  r.has_text = !text.empty();
  return r;
}

// mu of one pair, encoded alone; ids the VAE does not know take its unknown rows.
std::vector<double> latent_alone(TrainedVae& vae, const Record& r) {
  torch::NoGradGuard no_grad;
  vae.model->eval();
  const int64_t user = vae.users.find(r.user), item = vae.items.find(r.item);
  const auto mu = vae.model
                      ->encode(torch::tensor({user >= 0 ? user : vae.model->unknown_user()}),
                               torch::tensor({item >= 0 ? item : vae.model->unknown_item()}))
                      .mu[0]
                      .to(torch::kDouble);
  return std::vector<double>(mu.data_ptr<double>(), mu.data_ptr<double>() + mu.numel());
}

int64_t brute_force_nearest(TrainedVae& vae, const std::vector<Record>& train, const Record& q) {
  auto usable = [&](const Record& r, int rule) {
    if (!r.has_text) return false;
    if (rule == 0) return r.item == q.item;
    if (rule == 1) return r.user == q.user;
    return true;
  };
  for (int rule = 0; rule < 3; ++rule) {
    int64_t best = -1;
    double best_distance = std::numeric_limits<double>::infinity();
    const std::vector<double> query = latent_alone(vae, q);
    for (size_t n = 0; n < train.size(); ++n) {
      if (!usable(train[n], rule)) continue;
      const std::vector<double> other = latent_alone(vae, train[n]);
      double distance = 0;
      for (size_t d = 0; d < query.size(); ++d)
        distance += (query[d] - other[d]) * (query[d] - other[d]);
      if (distance < best_distance - 1e-9) {
        best = static_cast<int64_t>(n);
        best_distance = distance;
      }
    }
    if (best >= 0) return best;
  }
  return -1;
}

const std::vector<Record> kTrain = {
    record("a", "x", "a on x"),       record("b", "x", "b on x"), record("c", "x", "c on x"),
    record("c", "y", "c on y"),       record("a", "y", ""),       record("b", "z", "b on z"),
    record("a", "x", "a on x again"),
};

TEST(RetrievalBaseline, NearestOfTheSameItemElseUserElseAnyMatchesBruteForce) {
  TrainedVae vae = random_vae();
  const std::vector<Record> queries = {
      record("b", "y", "ref 0"),  // item y: only (c, y), as (a, y) has no text
      record("c", "x", "ref 1"),  // item x: the nearest of a, b, c's records
      record("a", "w", "ref 2"),  // item unseen: a's records with text
      record("d", "v", "ref 3"),  // both unseen: every record with text
      record("a", "x", "ref 4"),  // an exact pair twice: the earlier record wins the tie
      record("e", "z", "ref 5"),  // unknown user, known item
  };
  const RetrievalResult result = retrieve_explanations(vae, kTrain, queries, UnknownIds::fallback);
  ASSERT_EQ(result.rows.size(), queries.size());
  const RetrievedFrom expected_sources[] = {RetrievedFrom::same_item, RetrievedFrom::same_item,
                                            RetrievedFrom::same_user, RetrievedFrom::any_record,
                                            RetrievedFrom::same_item, RetrievedFrom::same_item};
  for (size_t q = 0; q < queries.size(); ++q) {
    const int64_t expected = brute_force_nearest(vae, kTrain, queries[q]);
    EXPECT_EQ(result.retrieved[q], expected) << q;
    EXPECT_EQ(result.rows[q].generated, kTrain[expected].explanation) << q;
    EXPECT_EQ(result.sources[q], expected_sources[q]) << q;
    EXPECT_EQ(result.rows[q].reference, queries[q].explanation);
    EXPECT_EQ(result.rows[q].user, queries[q].user);
    EXPECT_EQ(result.rows[q].feature, "sound");
  }
  EXPECT_EQ(result.retrieved[0], 3);
  EXPECT_EQ(result.retrieved[4], 0);
  EXPECT_EQ(result.count(RetrievedFrom::same_item), 4);

  const auto predictions = predict_pairs(vae, {{"b", "y"}, {"d", "v"}}, UnknownIds::fallback);
  EXPECT_EQ(result.rows[0].cluster, predictions[0].assignment.cluster);
  // The model computes in float32: another batch may round differently.
  EXPECT_NEAR(result.rows[0].predicted_rating, predictions[0].expected_rating, 1e-6);
  EXPECT_NEAR(result.rows[3].predicted_rating, predictions[1].expected_rating, 1e-6);
}

TEST(RetrievalBaseline, UnknownIdsAreAnErrorUnlessFallback) {
  TrainedVae vae = random_vae();
  const std::vector<Record> queries = {record("e", "z", "q")};
  try {
    retrieve_explanations(vae, kTrain, queries);
    FAIL() << "an unknown user was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vae.unknown_ids=fallback"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(retrieve_explanations(vae, kTrain, queries, UnknownIds::fallback).rows.size(), 1u);
}

TEST(RetrievalBaseline, TrainingWithoutTextIsAnError) {
  TrainedVae vae = random_vae();
  EXPECT_THROW(retrieve_explanations(vae, {record("a", "x", "")}, {record("a", "x", "q")}), Error);
}

}  // namespace
}  // namespace gavamoe
