"""Golden logits for the Llama decoder, from Hugging Face transformers' LlamaForCausalLM.

Writes two tiny random HF folders into OUT (default: tests/golden/llama next to this script):
  gqa_untied/  4 query heads, 2 key/value heads, separate lm_head, rope_theta 500000
  mha_tied/    4 heads, 4 key/value heads, lm_head tied to the embedding
each with config.json, model.safetensors and logits.safetensors holding
input_ids [2, 7] (int64), attention_mask [2, 7] (int64; row 1 right-padded) and
logits [2, 7, V] (float32, eager attention). Needs torch, transformers, safetensors.
Usage: python make_llama_golden.py [OUT]
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

MODELS = {
    "gqa_untied": dict(num_key_value_heads=2, tie_word_embeddings=False, rope_theta=500000.0),
    "mha_tied": dict(num_key_value_heads=4, tie_word_embeddings=True, rope_theta=10000.0),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "llama")
    for index, (name, extra) in enumerate(MODELS.items()):
        torch.manual_seed(1234 + index)
        config = LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=160,
                             num_hidden_layers=2, num_attention_heads=4,
                             max_position_embeddings=128, rms_norm_eps=1e-5,
                             bos_token_id=1, eos_token_id=2, **extra)
        config._attn_implementation = "eager"
        model = LlamaForCausalLM(config).eval()
        # Norm weights away from 1 so that a missing norm weight shows in the logits.
        with torch.no_grad():
            for key, parameter in model.named_parameters():
                if parameter.dim() == 1:
                    parameter.uniform_(0.5, 1.5)
        folder = os.path.join(out, name)
        model.save_pretrained(folder, safe_serialization=True)
        input_ids = torch.randint(3, 300, (2, 7), dtype=torch.int64)
        input_ids[:, 0] = 1
        attention_mask = torch.ones(2, 7, dtype=torch.int64)
        attention_mask[1, 4:] = 0
        input_ids[1, 4:] = 0
        with torch.no_grad():
            logits = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
        save_file({"input_ids": input_ids, "attention_mask": attention_mask,
                   "logits": logits.contiguous()},
                  os.path.join(folder, "logits.safetensors"))
        for extra_file in ("generation_config.json",):
            path = os.path.join(folder, extra_file)
            if os.path.exists(path):
                os.remove(path)


if __name__ == "__main__":
    main()
