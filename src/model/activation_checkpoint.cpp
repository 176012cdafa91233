// Activation checkpointing as a custom autograd Function (activation_checkpoint.hpp).
#include "gavamoe/model/activation_checkpoint.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

#include "gavamoe/model/autocast.hpp"

namespace gavamoe {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What backward needs besides the saved tensors: the block and the generator states at the
// start of the forward pass.
struct SavedBlock : torch::CustomClassHolder {
  CheckpointBlock block;
  std::vector<at::Generator> generators;  // the CPU's, and x's GPU's
  std::vector<torch::Tensor> forward_states;
  bool bf16_autocast = false;  // the forward ran under bf16 autocast: so does the re-run
};

std::vector<at::Generator> generators_for(const torch::Device& device) {
  std::vector<at::Generator> generators = {at::detail::getDefaultCPUGenerator()};
  if (!device.is_cpu()) generators.push_back(at::globalContext().defaultGenerator(device));
  return generators;
}

torch::Tensor state_of(at::Generator& generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_state(at::Generator& generator, const torch::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

// Puts the generators back to the forward pass's states for the re-run, and afterwards to where
// they were, so that the re-run draws the same dropout masks and later draws are unaffected.
class ReplayRandomness {
 public:
  explicit ReplayRandomness(SavedBlock& saved) : generators_(saved.generators) {
    for (size_t i = 0; i < generators_.size(); ++i) {
      current_states_.push_back(state_of(generators_[i]));
      set_state(generators_[i], saved.forward_states[i]);
    }
  }
  ~ReplayRandomness() {
    for (size_t i = 0; i < generators_.size(); ++i) set_state(generators_[i], current_states_[i]);
  }

 private:
  std::vector<at::Generator> generators_;
  std::vector<torch::Tensor> current_states_;
};

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  // Runs without grad (Function::apply turns it off); inputs: x, then the captured tensors.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               at::TensorList captured, const CheckpointBlock& block) {
    auto saved = c10::make_intrusive<SavedBlock>();
    saved->block = block;
    saved->generators = generators_for(x.device());
    for (auto& generator : saved->generators) saved->forward_states.push_back(state_of(generator));
    saved->bf16_autocast = at::autocast::is_autocast_enabled(x.device().type()) &&
                           at::autocast::get_autocast_dtype(x.device().type()) == at::kBFloat16;
    ctx->saved_data["block"] = c10::IValue::make_capsule(saved);
    variable_list inputs = {x};
    inputs.insert(inputs.end(), captured.begin(), captured.end());
    ctx->save_for_backward(inputs);
    return block(x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list output_grads) {
    auto saved =
        c10::static_intrusive_pointer_cast<SavedBlock>(ctx->saved_data["block"].toCapsule());
    const variable_list inputs = ctx->get_saved_variables();
    const torch::Tensor x = inputs[0].detach().requires_grad_(ctx->needs_input_grad(0));
    variable_list wanted;
    std::vector<size_t> wanted_at;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!ctx->needs_input_grad(i)) continue;
      wanted.push_back(i == 0 ? x : inputs[i]);
      wanted_at.push_back(i);
    }
    torch::Tensor output;
    {
      ReplayRandomness replay(*saved);
      const Autocast autocast(saved->bf16_autocast, x.device());
      torch::AutoGradMode grad_mode(true);
      output = saved->block(x);
    }
    variable_list grads(inputs.size() + 1);  // the last input, the block, has none
    if (!output.requires_grad()) return grads;
    const variable_list found =
        torch::autograd::grad({output}, wanted, {output_grads[0]},
                              /*retain_graph=*/false,
                              /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t k = 0; k < found.size(); ++k) grads[wanted_at[k]] = found[k];
    return grads;
  }
};

}  // namespace

torch::Tensor checkpoint(const CheckpointBlock& block, const torch::Tensor& x,
                         const std::vector<torch::Tensor>& captured) {
  return CheckpointFunction::apply(x, at::TensorList(captured), block);
}

}  // namespace gavamoe
