"""transformers' float32 logits of a Hugging Face Llama folder, for tests that check a folder
gavamoe wrote (export --model) loads in transformers as the same model.

Usage: hf_folder_logits.py HF_DIR INPUTS_JSON OUT_PREFIX
INPUTS_JSON is a file holding [[ids...], ...]; writes OUT_PREFIX.<i>.f32, the logits [T, V] of
input i as raw little-endian float32. Needs torch and transformers.
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM


def main():
    folder, inputs_path, prefix = sys.argv[1:4]
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    with open(inputs_path) as f:
        inputs = json.load(f)
    with torch.no_grad():
        for i, ids in enumerate(inputs):
            logits = model(torch.tensor([ids])).logits[0].float().numpy()
            logits.astype("<f4").tofile(f"{prefix}.{i}.f32")
    print("ok")


if __name__ == "__main__":
    main()
