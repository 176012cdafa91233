// Retrieval baseline: each record gets the explanation of the nearest training record of the
// same item; when the item has none, of the same user; when neither has any, of the nearest
// training record overall.
//
// "Nearest" is the Euclidean distance between the VAE's mean latents mu of the two
// (user, item) pairs, so among records of one item the most similar user wins. Ties go to the
// earlier training record. Ids the VAE run does not know (of the queries or of the training
// records) are an error naming them, as in `gavamoe infer`, unless the policy is
// UnknownIds::fallback (vae.unknown_ids=fallback): then they use its unknown rows. The rows carry
// the query's VAE cluster and expected rating, as `gavamoe infer` writes them, so the two are
// scored by `gavamoe eval` alike.
#pragma once

#include <cstdint>
#include <vector>

#include "gavamoe/data/record.hpp"
#include "gavamoe/infer/prediction_writer.hpp"
#include "gavamoe/model/vae_gmm.hpp"

namespace gavamoe {

enum class RetrievedFrom { same_item, same_user, any_record };

struct RetrievalResult {
  std::vector<PredictionRow> rows;     // one per query, in query order
  std::vector<int64_t> retrieved;      // the training record each row's text came from
  std::vector<RetrievedFrom> sources;  // which candidates it was chosen among
  double seconds = 0.0;

  int64_t count(RetrievedFrom source) const;
};

// `train` must not be empty; records without text are never retrieved.
RetrievalResult retrieve_explanations(TrainedVae& vae, const std::vector<Record>& train,
                                      const std::vector<Record>& queries,
                                      UnknownIds policy = UnknownIds::error);

}  // namespace gavamoe
