// The default run configuration. It is also the schema: a key missing here is unknown.
//
// Defaults suit small data (a 2-3k-record folder runs each stage in minutes on 2 cores);
// the paper's settings live in configs/paper-*.json. The "rec" section (the target
// recommenders of `gavamoe rec`) holds UniRec's settings for RecExplainer: shared keys, then
// sasrec_* and mf_* for each model (rec_trainer.hpp). The "align" section trains RecExplainer's
// surrogate (align_trainer.hpp): the original's LoRA and optimiser settings, with a batch of
// 4 x 4 accumulation and one epoch sized for 2 cores (the original: 64, 20 epochs on 4 GPUs).
#include "gavamoe/core/config.hpp"

namespace gavamoe {

const nlohmann::json& run_config_defaults() {
  static const nlohmann::json defaults = nlohmann::json::parse(R"({
  "data": {
    "path": null,
    "split": 1,
    "shuffle_seed": 1
  },
  "vae": {
    "clusters": 4,
    "embedding_dim": 64,
    "latent_dim": 16,
    "encoder_layers": 2,
    "encoder_heads": 4,
    "encoder_ff": 128,
    "dropout": 0.1,
    "decoder_hidden": [128, 64],
    "init_range": 0.2,
    "pretrain_epochs": 50,
    "pretrain_lr": 0.001,
    "pretrain_batch_size": 256,
    "patience": 5,
    "vade_epochs": 30,
    "vade_lr": 1e-5,
    "vade_batch_size": 256,
    "reconstruction_scale": "2E",
    "logvar_init": "narrow",
    "logvar_kappa": 0.05,
    "prior_lr_scale": 1.0,
    "learn_pi": true,
    "balance_weight": 0.0,
    "reseed_min_share": 0.0,
    "variance_floor_rel": 0.0,
    "lr_step_epochs": 10,
    "lr_step_gamma": 0.5,
    "kl_start": 0.01,
    "kl_step": 0.005,
    "kl_every": 5,
    "kl_max": 0.1,
    "em_iterations": 200,
    "em_tolerance": 1e-6,
    "covariance_floor": 1e-6,
    "train_subset": "train",
    "holdout_fraction": 0.1,
    "device": "auto",
    "unknown_ids": "error"
  },
  "train": {
    "base_model": null,
    "base_dtype": "float32",
    "model_config": "configs/model-tiny.json",
    "template": "auto",
    "max_length": 180,
    "n_experts": 4,
    "expert_width": 256,
    "top_k": 2,
    "gating": "hard",
    "base_ffn": "replace",
    "moe_layers": [],
    "load_balance_weight": 0.0,
    "lora_r": 8,
    "lora_alpha": 16.0,
    "lora_dropout": 0.1,
    "epochs": 10,
    "batch_size": 16,
    "grad_accum": 1,
    "lr": 0.001,
    "weight_decay": 0.01,
    "warmup_steps": 50,
    "schedule": "cosine",
    "grad_clip": 1.0,
    "patience": 3,
    "bf16": false,
    "grad_checkpointing": false,
    "log_every": 10,
    "vocab_size": 2000,
    "checkpoint_every": 100,
    "device": "auto"
  },
  "infer": {
    "decode": "greedy",
    "temperature": 0.7,
    "top_k": 0,
    "top_p": 1.0,
    "beams": 4,
    "repetition_penalty": 1.0,
    "max_new_tokens": 30,
    "batch_size": 32
  },
  "rec": {
    "model": "sasrec",
    "split": "separate",
    "epochs": 100,
    "patience": 6,
    "validate_first": true,
    "plateau_factor": 0.1,
    "plateau_patience": 1,
    "plateau_threshold": 0.0001,
    "weight_decay": 0.0,
    "init_std": 0.02,
    "eval_batch_size": 1024,
    "log_every": 10,
    "checkpoint_every": 100,
    "device": "auto",
    "sasrec_dim": 256,
    "sasrec_layers": 2,
    "sasrec_heads": 16,
    "sasrec_ffn": 512,
    "sasrec_max_history": 9,
    "sasrec_hidden_dropout": 0.4954053313841075,
    "sasrec_attn_dropout": 0.1871672079253271,
    "sasrec_layer_norm_eps": 1e-10,
    "sasrec_lr": 0.0003112577321994525,
    "sasrec_batch_size": 2048,
    "sasrec_grad_clip": 10.0,
    "mf_dim": 512,
    "mf_negatives": 285,
    "mf_lr": 0.004432861648876859,
    "mf_batch_size": 128,
    "mf_grad_clip": 0.7467958582006463
  },
  "align": {
    "base_model": "smollm2",
    "template": "auto",
    "max_length": 512,
    "epochs": 1,
    "batch_size": 4,
    "grad_accum": 4,
    "lr": 0.0001,
    "warmup_ratio": 0.1,
    "grad_clip": 1.0,
    "patience": 3,
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    "max_train_samples": 0,
    "valid_samples": 256,
    "log_every": 10,
    "checkpoint_every": 50,
    "device": "auto"
  }
})");
  return defaults;
}

}  // namespace gavamoe
