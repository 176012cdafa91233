"""PyTorch-eager peer of bench/explainer_train_bench.cpp: the explainer's training step on
SmolLM2-135M-Instruct, written plainly on HF transformers.

Usage: python3 bench/explainer_train_peer.py --batch-file FILE --gguf FILE [--threads N]
           [--steps S] [--experts E] [--width W] [--base-ffn shared|replace]
       python3 bench/explainer_train_peer.py --epoch-file FILE --gguf FILE [--threads N] [--steps S]

The model: transformers' LlamaForCausalLM loaded from the same GGUF as gavamoe
(from_pretrained(dir, gguf_file=name, dtype=torch.float32), which dequantises it), every base
parameter frozen; LoRA (r 8, alpha 16, dropout 0.1 on the adapter input, A Kaiming-uniform with
a = sqrt(5), B zero, as PEFT) around q/k/v/o; each layer's MLP replaced by a cluster-gated
mixture of `experts` bias-free SwiGLU experts of width `width`, one router (Linear C -> E, no
bias) per cluster: a token takes its record's cluster's router softmax, keeps the top 2 and
renormalises; each expert runs on the tokens routed to it (gather, then index_add_ of its
weighted output, as the GaVaMoE release does); base_ffn "shared" adds the frozen pretrained MLP,
"replace" drops it. The user and item placeholders (ids past the vocabulary) take
Linear(64 -> C) projections of the VAE table rows as input embeddings. Attention is plain causal
(no mask: the rows are right-padded, so a real token never sees padding), the head runs on the
target positions only, as in gavamoe; loss = summed cross-entropy / target tokens, backward,
clip_grad_norm_(1.0), torch.optim.AdamW (lr 1e-4, weight decay 0.01 on matrices, 0 on vectors).
The batch (ids, targets, users, items, clusters, VAE tables, placeholder ids) is the one
explainer_train_bench --write-batch wrote. One warm-up step, then S timed steps; the time per
step is their median, tokens/s counts every input token over it. Prints the bench's rows prefixed "PyTorch eager, ".
With --epoch-file (bench/explainer_epoch_file.cpp: a gavamoe train run's first epoch, its
examples in the run's order) it trains on those micro-batches instead, padded with the file's
pad id as gavamoe pads them, with the run's explainer options (experts, width, top-k, clusters,
base_ffn, LoRA) from the file; the first S of them (default: all), no warm-up, timing every step
with its batch's assembly, as gavamoe's epoch time does; tokens/s counts the real input tokens,
as the run's metrics.json does. Progress (step, s/step, ETA, loss) goes to stderr every 10 steps.
A missing transformers or file prints a skip line on stderr and no rows (exit 0).
"""

import argparse
import math
import os
import resource
import statistics
import sys
import time



def row(what, value, unit):
    print("| train | PyTorch eager, %s | %.*f | %s |" % (what, 2 if value < 100 else 0, value, unit),
          flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--batch-file")
    source.add_argument("--epoch-file")
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=0, help="default: 3, or the whole epoch")
    parser.add_argument("--experts", type=int, default=4)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--base-ffn", default="shared", choices=["shared", "replace"])
    args = parser.parse_args()
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        import transformers
        from safetensors import safe_open
        from safetensors.torch import load_file
        from transformers import AutoModelForCausalLM
    except ImportError as error:
        print("explainer_train_peer: skipped, %s" % error, file=sys.stderr)
        return
    data_file = args.epoch_file or args.batch_file
    if not os.path.isfile(args.gguf) or not os.path.isfile(data_file):
        print("explainer_train_peer: skipped, no model or batch file", file=sys.stderr)
        return
    # The explainer's options: the run's (epoch file) or the flags (fixed batch).
    shape = {"n_experts": args.experts, "expert_width": args.width, "base_ffn": args.base_ffn,
             "top_k": 2, "n_clusters": 4, "lora_r": 8, "lora_alpha": 16.0, "lora_dropout": 0.1}
    if args.epoch_file:
        with safe_open(args.epoch_file, "pt") as f:
            metadata = f.metadata()
        if metadata.get("gating", "hard") != "hard":
            print("explainer_train_peer: skipped, only hard gating is written here", file=sys.stderr)
            return
        for key, value in shape.items():
            shape[key] = type(value)(metadata[key])
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    transformers.utils.logging.disable_progress_bar()

    experts, width, top_k = shape["n_experts"], shape["expert_width"], shape["top_k"]

    class LoraLinear(nn.Module):
        def __init__(self, base, r=shape["lora_r"], alpha=shape["lora_alpha"],
                     dropout=shape["lora_dropout"]):
            super().__init__()
            self.base_layer = base
            self.lora_A = nn.Linear(base.in_features, r, bias=False)
            self.lora_B = nn.Linear(r, base.out_features, bias=False)
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)
            self.dropout = nn.Dropout(dropout)
            self.scaling = alpha / r

        def forward(self, x):
            return self.base_layer(x) + self.lora_B(self.lora_A(self.dropout(x))) * self.scaling

    class Expert(nn.Module):
        def __init__(self, hidden, width):
            super().__init__()
            self.gate_proj = nn.Linear(hidden, width, bias=False)
            self.up_proj = nn.Linear(hidden, width, bias=False)
            self.down_proj = nn.Linear(width, hidden, bias=False)

        def forward(self, x):
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    routing = {}  # "clusters": [B] int64 of the current batch

    class GatedMoe(nn.Module):
        def __init__(self, hidden, base):
            super().__init__()
            self.experts = nn.ModuleList(Expert(hidden, width) for _ in range(experts))
            self.routers = nn.ModuleList(nn.Linear(hidden, experts, bias=False)
                                         for _ in range(shape["n_clusters"]))
            self.base = base if shape["base_ffn"] == "shared" else None

        def forward(self, hidden):
            b, t, c = hidden.shape
            weights = torch.stack([r.weight for r in self.routers])  # [K, E, C]
            chosen = weights[routing["clusters"]]  # [B, E, C]
            probabilities = torch.softmax(hidden @ chosen.transpose(1, 2), -1).reshape(-1, experts)
            top, chosen_experts = probabilities.topk(top_k, -1)
            top = top / top.sum(-1, keepdim=True)
            x = hidden.reshape(-1, c)
            out = torch.zeros_like(x)
            for e, expert in enumerate(self.experts):
                token, slot = torch.where(chosen_experts == e)
                if token.numel() == 0:
                    continue
                out.index_add_(0, token, expert(x[token]) * top[token, slot].unsqueeze(1))
            out = out.view(b, t, c)
            return out + self.base(hidden) if self.base is not None else out

    folder, name = os.path.split(os.path.abspath(args.gguf))
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    for p in model.parameters():
        p.requires_grad_(False)
    config = model.config
    hidden = config.hidden_size
    for layer in model.model.layers:
        attention = layer.self_attn
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            setattr(attention, proj, LoraLinear(getattr(attention, proj)))
        if experts > 0:  # none: LoRA only, the pretrained MLP stays
            layer.mlp = GatedMoe(hidden, layer.mlp)

    data = load_file(data_file)
    user_token, item_token = [int(v) for v in data["placeholders"]]
    user_table, item_table = data["user_table"], data["item_table"]
    user_projection = nn.Linear(user_table.shape[1], hidden)
    item_projection = nn.Linear(item_table.shape[1], hidden)
    model.train()

    trainable = [p for p in model.parameters() if p.requires_grad]
    trainable += list(user_projection.parameters()) + list(item_projection.parameters())
    optimizer = torch.optim.AdamW(
        [{"params": [p for p in trainable if p.dim() >= 2], "weight_decay": 0.01},
         {"params": [p for p in trainable if p.dim() < 2], "weight_decay": 0.0}], lr=1e-4)
    embed = model.model.embed_tokens

    def step(batch):  # batch: ids [B, T], targets [B, T], users [B], items [B], clusters [B]
        ids, targets = batch["ids"], batch["targets"]
        routing["clusters"] = batch["clusters"]
        optimizer.zero_grad()
        is_user, is_item = (ids == user_token).unsqueeze(-1), (ids == item_token).unsqueeze(-1)
        x = embed(ids.masked_fill((ids == user_token) | (ids == item_token), 0))
        x = torch.where(is_user, user_projection(user_table[batch["users"]]).unsqueeze(1), x)
        x = torch.where(is_item, item_projection(item_table[batch["items"]]).unsqueeze(1), x)
        states = model.model(inputs_embeds=x).last_hidden_state
        scored = targets != -100
        logits = model.lm_head(states[scored])
        loss = F.cross_entropy(logits, targets[scored], reduction="sum") / logits.shape[0]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        return loss.item()

    model_name = ("smollm2-135m f32 + LoRA r%d + %dx%d experts (%s)"
                  % (shape["lora_r"], experts, width, shape["base_ffn"]) if experts > 0 else
                  "smollm2-135m f32 + LoRA r%d" % shape["lora_r"])
    if args.epoch_file:
        what, tokens, seconds, last = run_epoch(args, data, metadata, step, torch)
        what = "explainer epoch, %s, %s, cpu, %d threads" % (model_name, what, args.threads)
        row(what, tokens / seconds, "tokens/s")
        row(what + ", training time", seconds, "s")
    else:
        batch = {key: data[key] for key in ("ids", "targets", "users", "items", "clusters")}
        step(batch)
        times = []
        for _ in range(args.steps or 3):
            start = time.perf_counter()
            last = step(batch)
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        ids = batch["ids"]
        what = ("explainer step, %s, batch %dx%d Amazon, cpu, %d threads"
                % (model_name, ids.shape[0], ids.shape[1], args.threads))
        row(what, ids.numel() / seconds, "tokens/s")
        row(what + ", time per step", seconds, "s")
    print("explainer_train_peer: torch %s, transformers %s, %d threads, %d trainable parameters, "
          "last loss %.4f" % (torch.__version__, transformers.__version__, torch.get_num_threads(),
                              sum(p.numel() for p in trainable), last), file=sys.stderr)
    row(what + ", peak RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "MiB")


def run_epoch(args, data, metadata, step, torch):
    """Trains on the epoch file's micro-batches; returns (what, real tokens, seconds, last loss)."""
    batch_size, pad_id = int(metadata["batch_size"]), int(metadata["pad_id"])
    lengths = data["lengths"].tolist()
    prompt_lengths = data["prompt_lengths"].tolist()
    offsets = [0]
    for length in lengths:
        offsets.append(offsets[-1] + length)
    flat = data["ids"]
    steps = (len(lengths) + batch_size - 1) // batch_size
    if args.steps:
        steps = min(steps, args.steps)

    def make_batch(first, last):  # right-padded as gavamoe's make_batch
        t = max(lengths[first:last])
        ids = torch.full((last - first, t), pad_id, dtype=torch.long)
        targets = torch.full((last - first, t), -100, dtype=torch.long)
        for row_index, e in enumerate(range(first, last)):
            example = flat[offsets[e]:offsets[e + 1]]
            ids[row_index, :lengths[e]] = example
            # Position j predicts token j + 1, for the explanation and EOS only.
            targets[row_index, prompt_lengths[e] - 1:lengths[e] - 1] = example[prompt_lengths[e]:]
        return {"ids": ids, "targets": targets, "users": data["users"][first:last],
                "items": data["items"][first:last], "clusters": data["clusters"][first:last]}

    seconds, tokens, last = 0.0, 0, 0.0
    for s in range(steps):
        start = time.perf_counter()
        first, end = s * batch_size, min((s + 1) * batch_size, len(lengths))
        last = step(make_batch(first, end))
        seconds += time.perf_counter() - start
        tokens += sum(lengths[first:end])
        if (s + 1) % 10 == 0 or s + 1 == steps:
            rate = seconds / (s + 1)
            print("explainer_train_peer: step %d/%d, %.1f s/step, ETA %.0f s, loss %.4f"
                  % (s + 1, steps, rate, rate * (steps - s - 1), last), file=sys.stderr, flush=True)
    return "%d steps of %d" % (steps, batch_size), tokens, seconds, last

if __name__ == "__main__":
    main()
