// Activation checkpointing: gradients through checkpointed blocks equal those of the plain
// blocks (same seeds, dropout on), for a small stack and for a Llama with LoRA adapters; the
// random-number stream after backward is the same as without checkpointing.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "gavamoe/model/activation_checkpoint.hpp"
#include "gavamoe/model/llama.hpp"

namespace gavamoe {
namespace {

using Gradients = std::map<std::string, torch::Tensor>;

// Linear -> tanh -> dropout -> scaled by a captured per-feature tensor.
struct BlockImpl : torch::nn::Module {
  explicit BlockImpl(int64_t width)
      : linear(register_module("linear", torch::nn::Linear(width, width))),
        dropout(register_module("dropout", torch::nn::Dropout(0.3))) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& scale) {
    return dropout(torch::tanh(linear(x))) * scale + x;
  }
  torch::nn::Linear linear;
  torch::nn::Dropout dropout;
};
TORCH_MODULE(Block);

struct Stack {
  std::vector<Block> blocks;
  torch::Tensor scale;  // trained, read by every block
  torch::Tensor input;

  Stack(bool input_requires_grad, bool freeze_first) {
    torch::manual_seed(7);
    for (int i = 0; i < 3; ++i) {
      blocks.push_back(Block(16));
      blocks.back()->to(torch::kFloat64);
    }
    if (freeze_first)
      for (auto& p : blocks[0]->parameters()) p.requires_grad_(false);
    scale = torch::rand({16}, torch::kFloat64).requires_grad_();
    input = torch::randn({4, 5, 16}, torch::kFloat64).requires_grad_(input_requires_grad);
  }

  // Loss of a forward pass, its backward done; seeds the dropout masks first.
  double run(bool checkpointed) {
    torch::manual_seed(11);
    torch::Tensor x = input;
    for (auto& block : blocks) {
      if (!checkpointed) {
        x = block->forward(x, scale);
        continue;
      }
      std::vector<torch::Tensor> captured = block->parameters();
      captured.push_back(scale);
      x = checkpoint([&](const torch::Tensor& h) { return block->forward(h, scale); }, x, captured);
    }
    const torch::Tensor loss = (x * x).sum();
    loss.backward();
    return loss.item<double>();
  }

  Gradients gradients() {
    Gradients found = {{"scale", scale.grad()}, {"input", input.grad()}};
    for (size_t i = 0; i < blocks.size(); ++i)
      for (const auto& item : blocks[i]->named_parameters())
        found[std::to_string(i) + "." + item.key()] = item.value().grad();
    return found;
  }
};

void expect_same_gradients(const Gradients& plain, const Gradients& checkpointed) {
  ASSERT_EQ(plain.size(), checkpointed.size());
  for (const auto& [name, expected] : plain) {
    const torch::Tensor& found = checkpointed.at(name);
    ASSERT_EQ(expected.defined(), found.defined()) << name;
    if (expected.defined()) {
      EXPECT_TRUE(torch::allclose(found, expected, 1e-6, 1e-6)) << name;
    }
  }
}

void compare_stacks(bool input_requires_grad, bool freeze_first) {
  Stack plain(input_requires_grad, freeze_first), checkpointed(input_requires_grad, freeze_first);
  const double plain_loss = plain.run(false);
  const double next_draw_plain = torch::rand({1}).item<double>();
  EXPECT_NEAR(checkpointed.run(true), plain_loss, 1e-9);
  // The re-run in backward leaves the random-number stream where the forward pass left it.
  EXPECT_EQ(torch::rand({1}).item<double>(), next_draw_plain);
  expect_same_gradients(plain.gradients(), checkpointed.gradients());
}

TEST(ActivationCheckpoint, StackGradientsEqualPlainOnes) { compare_stacks(true, false); }

// Frozen embeddings feed the first block: parameters must still get their gradients.
TEST(ActivationCheckpoint, InputWithoutGradStillTrainsParameters) { compare_stacks(false, false); }

TEST(ActivationCheckpoint, FrozenParametersGetNoGradient) { compare_stacks(true, true); }

TEST(ActivationCheckpoint, NoGraphWithoutGrad) {
  Stack stack(true, false);
  torch::NoGradGuard no_grad;
  const auto y =
      checkpoint([&](const torch::Tensor& h) { return stack.blocks[0]->forward(h, stack.scale); },
                 stack.input, stack.blocks[0]->parameters());
  EXPECT_FALSE(y.requires_grad());
}

LlamaConfig tiny_config() {
  const nlohmann::json config = {{"vocab_size", 61},         {"hidden_size", 32},
                                 {"intermediate_size", 48},  {"num_hidden_layers", 3},
                                 {"num_attention_heads", 4}, {"num_key_value_heads", 2}};
  return LlamaConfig::from_json(config, "tiny");
}

// Gradients of a frozen Llama's LoRA adapters (dropout 0.2, nonzero lora_B) after one loss.
Gradients llama_gradients(bool gradient_checkpointing) {
  torch::manual_seed(3);
  Llama llama(tiny_config());
  llama->init_weights(5);
  for (auto& parameter : llama->parameters()) parameter.requires_grad_(false);  // a frozen base
  for (const auto& layer : *llama->layers)
    layer->as<DecoderLayerImpl>()->self_attn->add_lora({4, 8, 0.2});
  {
    torch::NoGradGuard no_grad;
    for (auto& item : llama->named_parameters())
      if (item.key().find("lora_B") != std::string::npos) item.value().normal_(0, 0.05);
  }
  llama->to(torch::kFloat64);
  llama->train();
  llama->gradient_checkpointing = gradient_checkpointing;
  torch::manual_seed(9);
  const auto ids = torch::randint(0, 61, {2, 7}, torch::kInt64);
  const auto logits = llama->forward(ids);
  torch::nn::functional::cross_entropy(logits.reshape({-1, 61}), ids.roll(-1, 1).reshape(-1))
      .backward();
  Gradients found;
  for (const auto& item : llama->named_parameters())
    if (item.value().requires_grad()) found[item.key()] = item.value().grad();
  return found;
}

TEST(ActivationCheckpoint, LlamaGradientsEqualPlainOnes) {
  const Gradients plain = llama_gradients(false);
  EXPECT_EQ(plain.size(), 3u * 8u);  // lora_A and lora_B of q, k, v, o in 3 layers
  expect_same_gradients(plain, llama_gradients(true));
}

}  // namespace
}  // namespace gavamoe
