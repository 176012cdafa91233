// VaeGmm: encoder, decoder, GMM prior, the stage A and VaDE losses, and the run-folder format.
//
// Shapes: B records, E embedding width, D latent width, K clusters, C rating classes.
#include "gavamoe/model/vae_gmm.hpp"

#include <cmath>
#include <filesystem>
#include <string>

#include "gavamoe/core/atomic_file.hpp"
#include "gavamoe/core/error.hpp"
#include "gavamoe/core/json_file.hpp"
#include "gavamoe/model/safetensors.hpp"

namespace gavamoe {
namespace nn = torch::nn;
using nlohmann::json;

namespace {

constexpr double kLog2Pi = 1.8378770664093453;
constexpr int64_t kAssignBatch = 8192;

json ids_to_json(const IdMap& ids) { return json(ids.ids()); }

IdMap ids_from_json(const std::string& path) {
  const json j = read_json_file(path);
  if (!j.is_array()) throw file_error(path, "expected a JSON list of string ids");
  IdMap ids;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) throw file_error(path, "entry " + std::to_string(i), "not a string");
    if (ids.add(j[i].get<std::string>()) != static_cast<int64_t>(i))
      throw file_error(path, "entry " + std::to_string(i), "duplicate id '" + ids.id(i) + "'");
  }
  return ids;
}

}  // namespace

json VaeGmmOptions::to_json() const {
  return {{"n_users", n_users},
          {"n_items", n_items},
          {"embedding_dim", embedding_dim},
          {"latent_dim", latent_dim},
          {"encoder_layers", encoder_layers},
          {"encoder_heads", encoder_heads},
          {"encoder_ff", encoder_ff},
          {"dropout", dropout},
          {"decoder_hidden", decoder_hidden},
          {"init_range", init_range},
          {"clusters", clusters},
          {"rating_classes", kRatingClasses}};
}

VaeGmmOptions VaeGmmOptions::from_json(const json& j) {
  const std::string origin = "VAE options";
  VaeGmmOptions o;
  o.n_users = json_value<int64_t>(j, "n_users", origin);
  o.n_items = json_value<int64_t>(j, "n_items", origin);
  o.embedding_dim = json_value<int64_t>(j, "embedding_dim", origin);
  o.latent_dim = json_value<int64_t>(j, "latent_dim", origin);
  o.encoder_layers = json_value<int64_t>(j, "encoder_layers", origin);
  o.encoder_heads = json_value<int64_t>(j, "encoder_heads", origin);
  o.encoder_ff = json_value<int64_t>(j, "encoder_ff", origin);
  o.dropout = json_value<double>(j, "dropout", origin);
  o.decoder_hidden = json_value<std::vector<int64_t>>(j, "decoder_hidden", origin);
  o.init_range = json_value<double>(j, "init_range", origin);
  o.clusters = json_value<int64_t>(j, "clusters", origin);
  return o;
}

VaeGmmImpl::VaeGmmImpl(const VaeGmmOptions& o) : options(o) {
  if (o.n_users < 1 || o.n_items < 1) throw Error("VAE: the data has no users or no items");
  if (o.clusters < 1) throw Error("VAE: vae.clusters must be at least 1");
  if (o.embedding_dim < 1 || o.latent_dim < 1 || o.encoder_heads < 1 ||
      o.embedding_dim % o.encoder_heads != 0)
    throw Error("VAE: vae.embedding_dim must be a positive multiple of vae.encoder_heads");
  // Bounds far above any useful VAE, so that a mistyped size is an error rather than an
  // allocation of minutes or a LibTorch failure.
  auto bound = [](const char* key, int64_t value, int64_t low, int64_t high) {
    if (value < low || value > high)
      throw Error(std::string("VAE: ") + key + " is " + std::to_string(value) + ", outside " +
                  std::to_string(low) + ".." + std::to_string(high));
  };
  bound("vae.embedding_dim", o.embedding_dim, 1, int64_t{1} << 16);
  bound("vae.latent_dim", o.latent_dim, 1, int64_t{1} << 16);
  bound("vae.encoder_layers", o.encoder_layers, 0, 1024);
  bound("vae.encoder_ff", o.encoder_ff, 1, int64_t{1} << 20);
  bound("vae.clusters", o.clusters, 1, int64_t{1} << 16);
  for (int64_t hidden : o.decoder_hidden) bound("vae.decoder_hidden", hidden, 1, int64_t{1} << 20);
  if (o.decoder_hidden.size() > 1024)
    throw Error("VAE: vae.decoder_hidden lists " + std::to_string(o.decoder_hidden.size()) +
                " layers, more than 1024");
  const int64_t e = o.embedding_dim, d = o.latent_dim;
  user_embedding = register_module("user_embedding", nn::Embedding(o.n_users + 1, e));
  item_embedding = register_module("item_embedding", nn::Embedding(o.n_items + 1, e));
  {
    torch::NoGradGuard no_grad;
    user_embedding->weight.uniform_(-o.init_range, o.init_range);
    item_embedding->weight.uniform_(-o.init_range, o.init_range);
  }
  encoder = register_module("encoder", nn::TransformerEncoder(nn::TransformerEncoderOptions(
                                           nn::TransformerEncoderLayerOptions(e, o.encoder_heads)
                                               .dim_feedforward(o.encoder_ff)
                                               .dropout(o.dropout),
                                           o.encoder_layers)));
  mu_head = register_module("mu_head", nn::Linear(2 * e, d));
  logvar_head = register_module("logvar_head", nn::Linear(2 * e, d));
  decoder = nn::Sequential();
  int64_t width = d;
  for (int64_t hidden : o.decoder_hidden) {
    decoder->push_back(nn::Linear(width, hidden));
    decoder->push_back(nn::GELU());
    width = hidden;
  }
  decoder->push_back(nn::Linear(width, kRatingClasses));
  register_module("decoder", decoder);
  prior_logits = register_parameter("prior_logits", torch::zeros({o.clusters}));
  prior_means = register_parameter("prior_means", torch::randn({o.clusters, d}));
  prior_log_variances = register_parameter("prior_log_variances", torch::zeros({o.clusters, d}));
}

VaeEncoding VaeGmmImpl::encode(const torch::Tensor& users, const torch::Tensor& items) {
  const int64_t batch = users.size(0);
  // [2, B, E]: the encoder is sequence-first, so attention mixes the two tokens of a record.
  const auto tokens = torch::stack({user_embedding(users), item_embedding(items)}, 0);
  const auto hidden = encoder(tokens).transpose(0, 1).reshape({batch, -1});  // [B, 2E]
  return {mu_head(hidden), logvar_head(hidden)};
}

torch::Tensor VaeGmmImpl::decode(const torch::Tensor& z) { return decoder->forward(z); }

torch::Tensor VaeGmmImpl::pretrain_loss(const torch::Tensor& users, const torch::Tensor& items,
                                        const torch::Tensor& classes) {
  return torch::nn::functional::cross_entropy(decode(encode(users, items).mu), classes);
}

VadeLoss VaeGmmImpl::vade_loss(const torch::Tensor& users, const torch::Tensor& items,
                               const torch::Tensor& classes, double kl_weight,
                               const VadeTerms& terms) {
  const auto enc = encode(users, items);
  const auto z =
      is_training() ? enc.mu + torch::randn_like(enc.mu) * (0.5 * enc.logvar).exp() : enc.mu;
  VadeLoss loss;
  loss.reconstruction = torch::nn::functional::cross_entropy(decode(z), classes);
  loss.kl = vade_kl(enc.mu, enc.logvar, z).mean();
  loss.total = terms.reconstruction_scale * loss.reconstruction + kl_weight * loss.kl;
  if (terms.balance_weight > 0) {
    loss.balance = balance_kl(enc.mu);
    loss.total = loss.total + terms.reconstruction_scale * terms.balance_weight * loss.balance;
  }
  return loss;
}

torch::Tensor VaeGmmImpl::log_density(const torch::Tensor& z) const {
  const auto diff = z.unsqueeze(1) - prior_means.unsqueeze(0);  // [B, K, D]
  return -0.5 * (z.size(1) * kLog2Pi + prior_log_variances.sum(1) +
                 (diff * diff * (-prior_log_variances).exp().unsqueeze(0)).sum(2));
}

torch::Tensor VaeGmmImpl::log_prior_joint(const torch::Tensor& z) const {
  return torch::log_softmax(prior_logits, 0) + log_density(z);
}

torch::Tensor VaeGmmImpl::balance_kl(const torch::Tensor& mu) const {
  const auto mean_gamma =
      torch::softmax(log_density(mu) / static_cast<double>(mu.size(1)), 1).mean(0);  // [K]
  return (mean_gamma * (mean_gamma * static_cast<double>(mean_gamma.size(0))).log()).sum();
}

torch::Tensor VaeGmmImpl::gamma(const torch::Tensor& z) const {
  return torch::softmax(log_prior_joint(z), 1);
}

torch::Tensor VaeGmmImpl::vade_kl(const torch::Tensor& mu, const torch::Tensor& logvar,
                                  const torch::Tensor& z) const {
  const auto log_gamma = torch::log_softmax(log_prior_joint(z), 1);  // [B, K]
  const auto gamma = log_gamma.exp();
  const auto inverse_variance = (-prior_log_variances).exp().unsqueeze(0);  // [1, K, D]
  const auto diff = mu.unsqueeze(1) - prior_means.unsqueeze(0);             // [B, K, D]
  const auto per_component =
      (prior_log_variances.unsqueeze(0) + logvar.exp().unsqueeze(1) * inverse_variance +
       diff * diff * inverse_variance)
          .sum(2);  // [B, K]
  const auto log_pi = torch::log_softmax(prior_logits, 0);
  return 0.5 * (gamma * per_component).sum(1) - (gamma * (log_pi - log_gamma)).sum(1) -
         0.5 * (1 + logvar).sum(1);
}

torch::Tensor VaeGmmImpl::assign(const torch::Tensor& mu) const {
  return log_prior_joint(mu).argmax(1);
}

void VaeGmmImpl::set_prior(const GaussianMixture& mixture) {
  torch::NoGradGuard no_grad;
  const auto like = prior_means.options();
  prior_logits.copy_(mixture.weights().log().to(like));
  prior_means.copy_(mixture.means().to(like));
  prior_log_variances.copy_(mixture.variances().log().to(like));
}

void VaeGmmImpl::fill_untrained_rows(const torch::Tensor& trained_users,
                                     const torch::Tensor& trained_items) {
  torch::NoGradGuard no_grad;
  auto fill = [](torch::Tensor& table, const torch::Tensor& trained) {
    const auto mask = torch::cat({trained.to(table.device(), torch::kBool),
                                  torch::zeros({1}, table.options().dtype(torch::kBool))})
                          .unsqueeze(1);  // [n + 1, 1], the unknown row untrained
    const auto count = mask.sum();
    const auto mean =
        (table * mask).sum(0, true) / count.clamp_min(1).to(table.scalar_type());  // [1, E]
    table.copy_(torch::where(mask, table, mean));
  };
  fill(user_embedding->weight, trained_users);
  fill(item_embedding->weight, trained_items);
}

void save_trained_vae(const std::string& run_dir, VaeGmm& model, const IdMap& users,
                      const IdMap& items) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : model->named_parameters())
    tensors[item.key()] = item.value().detach().to(torch::kCPU, torch::kFloat);
  write_safetensors(run_dir + "/vae.safetensors", tensors,
                    {{"format", "gavamoe-vae-gmm"}, {"unknown_row", "last row of each table"}});
  write_file_atomic(run_dir + "/vae.json", model->options.to_json().dump(2) + "\n");
  write_file_atomic(run_dir + "/users.json", ids_to_json(users).dump() + "\n");
  write_file_atomic(run_dir + "/items.json", ids_to_json(items).dump() + "\n");
}

void require_vae_run(const std::string& run_dir) {
  if (!std::filesystem::exists(run_dir + "/vae.json"))
    throw file_error(run_dir, "not a pretrain-vae run folder (no vae.json)");
}

TrainedVae load_trained_vae(const std::string& run_dir, torch::Device device) {
  const std::string config_path = run_dir + "/vae.json";
  const nlohmann::json config = read_json_file(config_path);  // its errors name the file
  VaeGmmOptions options;
  try {
    options = VaeGmmOptions::from_json(config);
  } catch (const Error& e) {
    throw file_error(config_path, e.what());
  }
  TrainedVae vae;
  vae.model = VaeGmm(options);
  const std::string weights_path = run_dir + "/vae.safetensors";
  SafetensorsReader reader(weights_path);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : vae.model->named_parameters()) {
      if (!reader.contains(item.key()))
        throw file_error(weights_path, "missing tensor '" + item.key() + "'");
      const auto loaded = reader.load(item.key());
      if (loaded.sizes() != item.value().sizes())
        throw file_error(weights_path, "tensor '" + item.key() + "' has the wrong shape");
      item.value().copy_(loaded.to(torch::kFloat));
    }
  }
  vae.users = ids_from_json(run_dir + "/users.json");
  vae.items = ids_from_json(run_dir + "/items.json");
  if (vae.users.size() != options.n_users || vae.items.size() != options.n_items)
    throw file_error(run_dir, "users.json / items.json do not match vae.json");
  vae.model->to(device);
  vae.model->eval();
  return vae;
}

UnknownIds parse_unknown_ids(const std::string& name) {
  if (name == "error") return UnknownIds::error;
  if (name == "fallback") return UnknownIds::fallback;
  throw Error("vae.unknown_ids must be \"error\" or \"fallback\", got \"" + name + "\"");
}

std::vector<ClusterAssignment> assign_clusters(
    TrainedVae& vae, const std::vector<std::pair<std::string, std::string>>& pairs,
    UnknownIds policy) {
  const int64_t n = static_cast<int64_t>(pairs.size());
  std::vector<int64_t> users(n), items(n);
  std::string unknown;
  int64_t n_unknown = 0;
  auto lookup = [&](const IdMap& ids, const std::string& id, const char* kind, int64_t fallback) {
    const int64_t index = ids.find(id);
    if (index >= 0) return index;
    if (++n_unknown <= 5)
      unknown += std::string(unknown.empty() ? "" : ", ") + kind + " '" + id + "'";
    return fallback;
  };
  for (int64_t r = 0; r < n; ++r) {
    users[r] = lookup(vae.users, pairs[r].first, "user", vae.model->unknown_user());
    items[r] = lookup(vae.items, pairs[r].second, "item", vae.model->unknown_item());
  }
  if (n_unknown > 0 && policy == UnknownIds::error)
    throw Error("unknown ids (" + std::to_string(n_unknown) + "): " + unknown +
                (n_unknown > 5 ? ", ..." : "") +
                "; the VAE only knows the ids it was trained with (vae.unknown_ids=fallback "
                "uses the mean embedding instead)");
  torch::NoGradGuard no_grad;
  vae.model->eval();
  const auto device = vae.model->prior_means.device();
  const auto user_tensor = torch::tensor(users, torch::kLong).to(device);
  const auto item_tensor = torch::tensor(items, torch::kLong).to(device);
  std::vector<ClusterAssignment> out(n);
  for (int64_t begin = 0; begin < n; begin += kAssignBatch) {
    const int64_t end = std::min(n, begin + kAssignBatch);
    const auto mu =
        vae.model->encode(user_tensor.slice(0, begin, end), item_tensor.slice(0, begin, end)).mu;
    const auto gamma = vae.model->gamma(mu).to(torch::kCPU, torch::kDouble).contiguous();
    const auto cluster = vae.model->assign(mu).cpu();
    const int64_t k = gamma.size(1);
    for (int64_t r = begin; r < end; ++r) {
      out[r].cluster = cluster[r - begin].item<int64_t>();
      const double* g = gamma.data_ptr<double>() + (r - begin) * k;
      out[r].gamma.assign(g, g + k);
    }
  }
  return out;
}

}  // namespace gavamoe
