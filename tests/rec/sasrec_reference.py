"""SASRec reference in PyTorch, written after UniRec's modules.py / sasrec.py (post-LN BERT layers,
-10000 additive mask, user vector at the last position, tied item table), for test_sasrec.cpp.

Usage: sasrec_reference.py DIR. Reads DIR/weights.safetensors (UniRec tensor names),
DIR/inputs.safetensors (seq [B, L] int64, target [B] int64) and DIR/config.json (heads, eps);
writes DIR/reference.safetensors: user [B, D], scores [B, M], loss [B] (full softmax), and
attention_all_positions [B, L, D] (the last layer at every position).
"""
import json
import math
import sys

import torch
from safetensors.torch import load_file, save_file


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def linear(x, w, b):
    return x @ w.T + b


def main(folder):
    W = {k: v.double() for k, v in load_file(f"{folder}/weights.safetensors").items()}
    inputs = load_file(f"{folder}/inputs.safetensors")
    config = json.load(open(f"{folder}/config.json"))
    heads, eps, layers = config["heads"], config["eps"], config["layers"]
    seq, target = inputs["seq"], inputs["target"]
    B, L = seq.shape
    item = W["item_embedding.weight"]
    x = item[seq] + W["position_embedding.weight"][torch.arange(L)].unsqueeze(0)
    x = layer_norm(x, W["LayerNorm.weight"], W["LayerNorm.bias"], eps)
    keys = (seq > 0).double().unsqueeze(1).unsqueeze(2)
    causal = (torch.triu(torch.ones(1, L, L), diagonal=1) == 0).double().unsqueeze(1)
    mask = (1.0 - keys * causal) * -10000.0
    D = x.shape[-1]
    E = D // heads
    for i in range(layers):
        p = f"trm_encoder.layer.{i}."
        a = p + "multi_head_attention."
        split = lambda t: t.view(B, L, heads, E).permute(0, 2, 1, 3)
        q = split(linear(x, W[a + "query.weight"], W[a + "query.bias"]))
        k = split(linear(x, W[a + "key.weight"], W[a + "key.bias"]))
        v = split(linear(x, W[a + "value.weight"], W[a + "value.bias"]))
        s = q @ k.transpose(-1, -2) / math.sqrt(E) + mask
        c = (torch.softmax(s, -1) @ v).permute(0, 2, 1, 3).reshape(B, L, D)
        h = layer_norm(linear(c, W[a + "dense.weight"], W[a + "dense.bias"]) + x,
                       W[a + "LayerNorm.weight"], W[a + "LayerNorm.bias"], eps)
        f = p + "feed_forward."
        y = linear(torch.nn.functional.silu(linear(h, W[f + "dense_1.weight"], W[f + "dense_1.bias"])),
                   W[f + "dense_2.weight"], W[f + "dense_2.bias"])
        x = layer_norm(y + h, W[f + "LayerNorm.weight"], W[f + "LayerNorm.bias"], eps)
    user = x[:, -1, :]
    table = item.clone()
    table[0] = 0  # UniRec looks the table up with padding_idx 0
    scores = user @ table.T
    loss = torch.logsumexp(scores, 1) - scores.gather(1, target.view(-1, 1)).squeeze(1)
    save_file({"user": user.float().contiguous(), "scores": scores.float().contiguous(),
               "loss": loss.float().contiguous(), "all_positions": x.float().contiguous()},
              f"{folder}/reference.safetensors")


if __name__ == "__main__":
    main(sys.argv[1])
