// SentencePiece and LibTorch in one process: both load, and both give correct results (their
// protobuf copies must not clash).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "gavamoe/text/sentencepiece_tokenizer.hpp"
#include "test_util.hpp"

namespace gavamoe {
namespace {

TEST(SentencePieceWithTorch, TokenizerAndMatmulInOneProcess) {
  const std::string dir = test::scratch_dir();
  std::vector<std::string> sentences;
  for (int i = 0; i < 50; ++i)
    sentences.push_back("the tone is warm and the neck is smooth number " + std::to_string(i));
  TokenizerTrainOptions options;
  options.vocab_size = 400;  // 256 byte pieces + specials + characters + merges
  train_tokenizer(sentences, options, dir + "/tok.model");
  const SentencePieceTokenizer tokenizer(dir + "/tok.model");
  const std::string text = "the neck is warm <user>";
  const std::vector<int> ids = tokenizer.encode(text);
  EXPECT_EQ(tokenizer.decode(ids), text);

  // [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
  const torch::Tensor a = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({2, 2});
  const torch::Tensor b = torch::tensor({5.0f, 6.0f, 7.0f, 8.0f}).reshape({2, 2});
  const torch::Tensor expected = torch::tensor({19.0f, 22.0f, 43.0f, 50.0f}).reshape({2, 2});
  EXPECT_TRUE(torch::equal(torch::matmul(a, b), expected));

  // Token ids as a tensor, back to text.
  const torch::Tensor id_tensor = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()));
  std::vector<int> back(id_tensor.data_ptr<int64_t>(), id_tensor.data_ptr<int64_t>() + ids.size());
  EXPECT_EQ(tokenizer.decode(back), text);
}

}  // namespace
}  // namespace gavamoe
