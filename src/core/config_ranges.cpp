// The ranges of run-config keys (config.hpp check_config_value, check_config).
//
// A value the key's type allows can still mean nothing: a zero batch size, a learning rate
// of 0, a dropout of 2, a device name no trainer knows. These are refused when the value is
// set, naming the key and its range, so a run fails before it creates its folder rather than
// after minutes of training (or with a LibTorch trace).
#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "gavamoe/core/config.hpp"
#include "gavamoe/core/error.hpp"

namespace gavamoe {
namespace {

using nlohmann::json;

struct Bound {
  double value;
  bool inclusive;
};

// A numeric range (each end optional), or a set of names; a list key has each entry checked.
struct KeyRule {
  const char* key;
  std::optional<Bound> low;
  std::optional<Bound> high;
  std::vector<const char*> names;
};

constexpr Bound at_least(double value) { return {value, true}; }
constexpr Bound above(double value) { return {value, false}; }
constexpr Bound at_most(double value) { return {value, true}; }
constexpr Bound below(double value) { return {value, false}; }

const std::vector<const char*> kDevices = {"auto", "cpu", "cuda"};

// Keys without a rule (paths, seeds, booleans, grad_clip where <= 0 means off) take any value
// of their type.
const std::vector<KeyRule>& key_rules() {
  static const std::vector<KeyRule> rules = {
      {"data.split", at_least(1), at_most(5), {}},
      {"data.shuffle_seed", at_least(0), {}, {}},

      {"vae.clusters", at_least(1), {}, {}},
      {"vae.embedding_dim", at_least(1), {}, {}},
      {"vae.latent_dim", at_least(1), {}, {}},
      {"vae.encoder_layers", at_least(0), {}, {}},
      {"vae.encoder_heads", at_least(1), {}, {}},
      {"vae.encoder_ff", at_least(1), {}, {}},
      {"vae.dropout", at_least(0), below(1), {}},
      {"vae.decoder_hidden", at_least(1), {}, {}},
      {"vae.init_range", above(0), {}, {}},
      {"vae.pretrain_epochs", at_least(1), {}, {}},
      {"vae.pretrain_lr", above(0), {}, {}},
      {"vae.pretrain_batch_size", at_least(1), {}, {}},
      {"vae.patience", at_least(1), {}, {}},
      {"vae.vade_epochs", at_least(1), {}, {}},
      {"vae.vade_lr", above(0), {}, {}},
      {"vae.vade_batch_size", at_least(1), {}, {}},
      {"vae.lr_step_epochs", at_least(1), {}, {}},
      {"vae.lr_step_gamma", above(0), at_most(1), {}},
      {"vae.kl_start", at_least(0), {}, {}},
      {"vae.kl_step", at_least(0), {}, {}},
      {"vae.kl_every", at_least(1), {}, {}},
      {"vae.kl_max", at_least(0), {}, {}},
      {"vae.em_iterations", at_least(1), {}, {}},
      {"vae.em_tolerance", at_least(0), {}, {}},
      {"vae.covariance_floor", above(0), {}, {}},
      {"vae.train_subset", {}, {}, {"train", "validation", "test"}},
      {"vae.holdout_fraction", above(0), below(1), {}},
      {"vae.device", {}, {}, kDevices},
      {"vae.unknown_ids", {}, {}, {"error", "fallback"}},

      {"train.max_length", at_least(2), {}, {}},
      {"train.n_experts", at_least(0), {}, {}},
      {"train.expert_width", at_least(1), {}, {}},
      {"train.top_k", at_least(1), {}, {}},
      {"train.base_dtype", {}, {}, {"float32", "bfloat16"}},
      {"train.gating", {}, {}, {"hard", "soft"}},
      {"train.base_ffn", {}, {}, {"replace", "shared"}},
      {"train.moe_layers", at_least(0), {}, {}},
      {"train.load_balance_weight", at_least(0), {}, {}},
      {"train.lora_r", at_least(0), {}, {}},
      {"train.lora_alpha", above(0), {}, {}},
      {"train.lora_dropout", at_least(0), below(1), {}},
      {"train.epochs", at_least(1), {}, {}},
      {"train.batch_size", at_least(1), {}, {}},
      {"train.grad_accum", at_least(1), {}, {}},
      {"train.lr", above(0), {}, {}},
      {"train.weight_decay", at_least(0), {}, {}},
      {"train.warmup_steps", at_least(0), {}, {}},
      {"train.schedule", {}, {}, {"constant", "linear", "cosine"}},
      {"train.patience", at_least(1), {}, {}},
      {"train.log_every", at_least(1), {}, {}},
      {"train.vocab_size", at_least(8), {}, {}},
      {"train.checkpoint_every", at_least(0), {}, {}},
      {"train.device", {}, {}, kDevices},

      {"infer.decode", {}, {}, {"greedy", "sample", "beam"}},
      {"infer.temperature", above(0), {}, {}},
      {"infer.top_k", at_least(0), {}, {}},
      {"infer.top_p", above(0), at_most(1), {}},
      {"infer.beams", at_least(1), {}, {}},
      {"infer.repetition_penalty", above(0), {}, {}},
      {"infer.max_new_tokens", at_least(1), {}, {}},
      {"infer.batch_size", at_least(1), {}, {}},

      {"rec.model", {}, {}, {"sasrec", "mf"}},
      {"rec.split", {}, {}, {"separate", "original"}},
      {"rec.epochs", at_least(1), {}, {}},
      {"rec.patience", at_least(1), {}, {}},
      {"rec.plateau_factor", above(0), below(1), {}},
      {"rec.plateau_patience", at_least(0), {}, {}},
      {"rec.plateau_threshold", at_least(0), {}, {}},
      {"rec.weight_decay", at_least(0), {}, {}},
      {"rec.init_std", above(0), {}, {}},
      {"rec.eval_batch_size", at_least(1), {}, {}},
      {"rec.log_every", at_least(1), {}, {}},
      {"rec.checkpoint_every", at_least(0), {}, {}},
      {"rec.device", {}, {}, kDevices},
      {"rec.sasrec_dim", at_least(1), {}, {}},
      {"rec.sasrec_layers", at_least(1), {}, {}},
      {"rec.sasrec_heads", at_least(1), {}, {}},
      {"rec.sasrec_ffn", at_least(1), {}, {}},
      {"rec.sasrec_max_history", at_least(1), {}, {}},
      {"rec.sasrec_hidden_dropout", at_least(0), below(1), {}},
      {"rec.sasrec_attn_dropout", at_least(0), below(1), {}},
      {"rec.sasrec_layer_norm_eps", above(0), {}, {}},
      {"rec.sasrec_lr", above(0), {}, {}},
      {"rec.sasrec_batch_size", at_least(1), {}, {}},
      {"rec.mf_dim", at_least(1), {}, {}},
      {"rec.mf_negatives", at_least(1), {}, {}},
      {"rec.mf_lr", above(0), {}, {}},
      {"rec.mf_batch_size", at_least(1), {}, {}},

      {"align.max_length", at_least(16), {}, {}},
      {"align.epochs", at_least(1), {}, {}},
      {"align.batch_size", at_least(1), {}, {}},
      {"align.grad_accum", at_least(1), {}, {}},
      {"align.lr", above(0), {}, {}},
      {"align.warmup_ratio", at_least(0), below(1), {}},
      {"align.grad_clip", at_least(0), {}, {}},
      {"align.patience", at_least(1), {}, {}},
      {"align.lora_r", at_least(1), {}, {}},
      {"align.lora_alpha", above(0), {}, {}},
      {"align.lora_dropout", at_least(0), below(1), {}},
      {"align.max_train_samples", at_least(0), {}, {}},
      {"align.valid_samples", at_least(1), {}, {}},
      {"align.log_every", at_least(1), {}, {}},
      {"align.checkpoint_every", at_least(0), {}, {}},
      {"align.device", {}, {}, kDevices},
  };
  return rules;
}

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

std::string range_text(const KeyRule& rule) {
  if (!rule.names.empty()) {
    std::string text;
    for (size_t k = 0; k < rule.names.size(); ++k) {
      if (k > 0) text += k + 1 == rule.names.size() ? " or " : ", ";
      text += rule.names[k];
    }
    return text;
  }
  const auto& low = rule.low;
  const auto& high = rule.high;
  if (low && high && low->inclusive && high->inclusive)
    return "from " + number_text(low->value) + " to " + number_text(high->value);
  std::string text;
  if (low) text = (low->inclusive ? "at least " : "greater than ") + number_text(low->value);
  if (low && high) text += " and ";
  if (high) text += (high->inclusive ? "at most " : "less than ") + number_text(high->value);
  return text;
}

bool in_range(const KeyRule& rule, const json& value) {
  if (!rule.names.empty()) {
    if (!value.is_string()) return true;  // the type check names a wrong type
    for (const char* name : rule.names)
      if (value.get<std::string>() == name) return true;
    return false;
  }
  if (!value.is_number()) return true;
  const double x = value.get<double>();
  if (!std::isfinite(x)) return false;
  if (rule.low && (rule.low->inclusive ? x < rule.low->value : x <= rule.low->value)) return false;
  if (rule.high && (rule.high->inclusive ? x > rule.high->value : x >= rule.high->value))
    return false;
  return true;
}

}  // namespace

void check_config_value(const std::string& key, const json& value, const std::string& origin) {
  for (const KeyRule& rule : key_rules()) {
    if (key != rule.key) continue;
    const bool list = value.is_array();
    for (const json& entry : list ? value : json::array({value}))
      if (!in_range(rule, entry))
        throw Error(origin + ": config key '" + key + "' must be " +
                    (list ? "a list of values " : "") + range_text(rule) + ", got " + value.dump());
    return;
  }
}

void check_config(const json& values, const std::string& origin) {
  auto get = [&values](const char* section, const char* key) {
    return values.at(section).at(key).get<int64_t>();
  };
  auto fail = [&origin](const std::string& what) { throw Error(origin + ": " + what); };
  if (get("vae", "embedding_dim") % get("vae", "encoder_heads") != 0)
    fail("config key 'vae.embedding_dim' (" + std::to_string(get("vae", "embedding_dim")) +
         ") must be a multiple of vae.encoder_heads (" +
         std::to_string(get("vae", "encoder_heads")) + ")");
  if (get("train", "n_experts") > 0 && get("train", "top_k") > get("train", "n_experts"))
    fail("config key 'train.top_k' (" + std::to_string(get("train", "top_k")) +
         ") must be at most train.n_experts (" + std::to_string(get("train", "n_experts")) + ")");
  if (get("rec", "sasrec_dim") % get("rec", "sasrec_heads") != 0)
    fail("config key 'rec.sasrec_dim' (" + std::to_string(get("rec", "sasrec_dim")) +
         ") must be a multiple of rec.sasrec_heads (" + std::to_string(get("rec", "sasrec_heads")) +
         ")");
}

}  // namespace gavamoe
