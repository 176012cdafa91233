// vae_bench: training speed of the VAE-GMM (records/s) for stage A and stage B.
//
// Usage: vae_bench [paper|small] [cpu|cuda] [threads]   (needs GAVAMOE_DATASETS)
// Trains on the TripAdvisor validation ratings (32k records) for one warm-up batch and then one
// full epoch per stage, with the paper's model (E=768, D=128, 2 layers, 4 heads, ff 512,
// decoder 512-256, batch 2048 / 4096) or the small default model (E=64, D=16, batch 256).
// Prints one bench_row.hpp row per stage.
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "bench_device.hpp"
#include "bench_row.hpp"
#include "gavamoe/data/dataset.hpp"
#include "gavamoe/model/vae_gmm.hpp"

namespace {

using namespace gavamoe;

struct Setup {
  VaeGmmOptions model;
  int64_t batch_a = 256, batch_b = 256;
};

Setup make_setup(const std::string& size, const Dataset& data) {
  Setup s;
  s.model.n_users = data.users.size();
  s.model.n_items = data.items.size();
  if (size == "paper") {
    s.model.embedding_dim = 768;
    s.model.latent_dim = 128;
    s.model.encoder_ff = 512;
    s.model.decoder_hidden = {512, 256};
    s.batch_a = 2048;
    s.batch_b = 4096;
  }
  return s;
}

// One epoch over `users`/`items`/`classes` after a warm-up batch; returns records/s.
template <typename Loss>
double time_epoch(VaeGmm& model, const torch::Tensor& users, const torch::Tensor& items,
                  const torch::Tensor& classes, int64_t batch, torch::Device device, Loss loss) {
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1.5e-4));
  model->train();
  const int64_t n = users.size(0);
  auto step = [&](int64_t begin) {
    const int64_t end = std::min(n, begin + batch);
    optimizer.zero_grad();
    auto value =
        loss(users.slice(0, begin, end), items.slice(0, begin, end), classes.slice(0, begin, end));
    value.backward();
    optimizer.step();
  };
  step(0);
  if (device.is_cuda()) torch::cuda::synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t begin = 0; begin < n; begin += batch) step(begin);
  if (device.is_cuda()) torch::cuda::synchronize();
  return n / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string size = argc > 1 ? argv[1] : "small";
  const char* datasets = std::getenv("GAVAMOE_DATASETS");
  if (!datasets) {
    std::fprintf(stderr, "vae_bench: set GAVAMOE_DATASETS (it must hold peter_ratings/)\n");
    return 2;
  }
  const auto target = bench::bench_device(argc, argv, 2, "vae_bench");
  const torch::Device device = target.device;
  const std::string& where = target.where;
  const Dataset data = load_dataset(std::string(datasets) + "/peter_ratings/TripAdvisor");
  const auto& records = data.subset(Subset::validation);
  std::vector<int64_t> users, items, classes;
  for (int64_t r : records) {
    users.push_back(data.user_of[r]);
    items.push_back(data.item_of[r]);
    classes.push_back(std::llround(data.records[r].rating) - 1);
  }
  const auto u = torch::tensor(users, torch::kLong).to(device);
  const auto i = torch::tensor(items, torch::kLong).to(device);
  const auto c = torch::tensor(classes, torch::kLong).to(device);
  const Setup setup = make_setup(size, data);
  VaeGmm model(setup.model);
  model->to(device);

  const double a =
      time_epoch(model, u, i, c, setup.batch_a, device,
                 [&](auto&& uu, auto&& ii, auto&& cc) { return model->pretrain_loss(uu, ii, cc); });
  const std::string model_name = size + " (E=" + std::to_string(setup.model.embedding_dim) +
                                 " D=" + std::to_string(setup.model.latent_dim) + ")";
  bench::print_row(
      "vae", "stage A " + model_name + ", batch " + std::to_string(setup.batch_a) + ", " + where, a,
      "records/s");
  const double b = time_epoch(
      model, u, i, c, setup.batch_b, device,
      [&](auto&& uu, auto&& ii, auto&& cc) { return model->vade_loss(uu, ii, cc, 0.01).total; });
  bench::print_row(
      "vae", "stage B " + model_name + ", batch " + std::to_string(setup.batch_b) + ", " + where, b,
      "records/s");
  return 0;
}
