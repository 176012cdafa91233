// Activation checkpointing (what torch.utils.checkpoint does in Python, which LibTorch lacks).
//
// checkpoint(block, x, captured) returns block(x) but keeps none of the block's activations: the
// forward pass runs without recording a graph and saves only x and the random-number state;
// backward runs the block again, with the same random numbers (dropout masks), and
// back-propagates through that copy. Memory for a stack of N blocks drops from N blocks'
// activations to N inputs plus one block's activations, for about one extra forward pass.
//
// The block must compute the same function when re-run: no state changes (KV cache appends,
// running statistics). bf16 autocast, when on during the forward pass, is on for the re-run.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace gavamoe {

using CheckpointBlock = std::function<torch::Tensor(const torch::Tensor&)>;

// `captured`: every tensor the block reads besides x that may need a gradient (its parameters,
// routing weights); gradients reach them and x as if block(x) had been called directly. Those
// that do not require grad are skipped. The CPU generator's state and, for x on a GPU, that
// device's are restored for the re-run.
torch::Tensor checkpoint(const CheckpointBlock& block, const torch::Tensor& x,
                         const std::vector<torch::Tensor>& captured);

}  // namespace gavamoe
