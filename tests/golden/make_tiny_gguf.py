"""Tiny random Llama GGUF files and transformers' logits on them, for tests/model/test_gguf_llama.cpp.

Usage: make_tiny_gguf.py OUT_DIR
Writes two models, each OUT_DIR/<name>.gguf (written with gguf-py's GGUFWriter) plus
OUT_DIR/<name>.json {"config": {...}, "inputs": [[ids...], ...]} and OUT_DIR/<name>.<i>.f32, the
float32 logits [T, V] that transformers (AutoModelForCausalLM.from_pretrained(gguf_file=...),
weights dequantised to float32) computes for input i:
  untied  4 query / 2 key-value heads, with output.weight
  tied    4 query / 1 key-value head, no output.weight (head tied to token_embd)
The tensors use every supported block type (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, F16,
BF16, F32); the metadata carries a byte-level BPE vocabulary (gpt2) and a ChatML template, so
the files are complete models. Needs numpy, gguf 0.19.0, torch, transformers, accelerate.
"""
import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFWriter
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import quantize

HIDDEN, LAYERS, HEADS, HEAD_DIM, FFN, VOCAB, CONTEXT = 256, 2, 4, 64, 512, 320, 256
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
          "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def bytes_to_unicode():
    """GPT-2's byte -> character table."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def vocabulary():
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    byte_chars = [bytes_to_unicode()[b] for b in range(256)]
    letters = "etaoinshr"
    merges = ["\u0120 " + c for c in letters] + [a + " " + b for a in letters for b in letters]
    merges = merges[:VOCAB - len(specials) - len(byte_chars)]
    tokens = specials + byte_chars + [m.replace(" ", "") for m in merges]
    types = [3] * len(specials) + [1] * (len(tokens) - len(specials))
    return tokens, types, merges


def k_quant_blocks(rng, qtype, rows, cols):
    """Random K-quant bytes whose scales keep the values near N(0, 0.05)."""
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    n = rows * cols // block_size
    raw = rng.integers(0, 256, size=(n, type_size), dtype=np.uint16).astype(np.uint8)
    half = lambda v: np.full((n, 1), v, dtype=np.float16) * rng.uniform(0.5, 1.5, (n, 1)).astype(np.float16)
    if qtype == T.Q4_K:
        d = half(2e-4)
        raw[:, 0:2] = d.view(np.uint8)
        raw[:, 2:4] = (d * np.float16(7.5)).view(np.uint8)
    elif qtype == T.Q5_K:
        d = half(1e-4)
        raw[:, 0:2] = d.view(np.uint8)
        raw[:, 2:4] = (d * np.float16(15.5)).view(np.uint8)
    else:  # Q6_K: d last
        raw[:, 208:210] = half(1e-5).view(np.uint8)
    return raw.reshape(rows, cols // block_size * type_size)


def tensor_bytes(rng, qtype, shape):
    """(array, raw_dtype) for GGUFWriter.add_tensor; shape is PyTorch order [rows, cols]."""
    if qtype in (T.Q4_K, T.Q5_K, T.Q6_K):
        return k_quant_blocks(rng, qtype, *shape), qtype
    values = (rng.standard_normal(shape) * 0.05).astype(np.float32)
    if qtype == T.F32:
        return values, None
    if qtype == T.F16:
        return values.astype(np.float16), None
    return quantize(values, qtype), qtype


def write_model(out, name, kv_heads, tied, types, rng):
    path = out / f"{name}.gguf"
    writer = GGUFWriter(str(path), "llama")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_rope_freq_base(10000.0 if tied else 500000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(VOCAB)
    tokens, token_types, merges = vocabulary()
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(token_types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_pad_token_id(0)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHATML)

    def add(tensor_name, shape, qtype):
        data, raw_dtype = tensor_bytes(rng, qtype, shape)
        writer.add_tensor(tensor_name, data, raw_dtype=raw_dtype)

    def add_norm(tensor_name):
        writer.add_tensor(tensor_name, (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32))

    kinds = iter(types * 4)
    add("token_embd.weight", [VOCAB, HIDDEN], next(kinds))
    for layer in range(LAYERS):
        p = f"blk.{layer}."
        add_norm(p + "attn_norm.weight")
        add(p + "attn_q.weight", [HEADS * HEAD_DIM, HIDDEN], next(kinds))
        add(p + "attn_k.weight", [kv_heads * HEAD_DIM, HIDDEN], next(kinds))
        add(p + "attn_v.weight", [kv_heads * HEAD_DIM, HIDDEN], next(kinds))
        add(p + "attn_output.weight", [HIDDEN, HEADS * HEAD_DIM], next(kinds))
        add_norm(p + "ffn_norm.weight")
        add(p + "ffn_gate.weight", [FFN, HIDDEN], next(kinds))
        add(p + "ffn_up.weight", [FFN, HIDDEN], next(kinds))
        add(p + "ffn_down.weight", [HIDDEN, FFN], next(kinds))
    add_norm("output_norm.weight")
    if not tied:
        add("output.weight", [VOCAB, HIDDEN], next(kinds))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def main():
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    all_types = [T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.F16, T.BF16, T.F32]
    inputs = [[5, 80, 81, 300, 17, 2, 259], [1, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110]]
    for name, kv_heads, tied, types in [("untied", 2, False, all_types),
                                        ("tied", 1, True, all_types[4:] + all_types[:4])]:
        path = write_model(out, name, kv_heads, tied, types, rng)
        model = AutoModelForCausalLM.from_pretrained(str(out), gguf_file=path.name, dtype=torch.float32)
        model.eval()
        for i, ids in enumerate(inputs):
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0].float().numpy()
            logits.astype("<f4").tofile(out / f"{name}.{i}.f32")
        meta = {"config": {"kv_heads": kv_heads, "tied": tied,
                           "tie_word_embeddings": bool(model.config.tie_word_embeddings)},
                "inputs": inputs, "vocab_size": VOCAB}
        (out / f"{name}.json").write_text(json.dumps(meta))
    print("ok")


if __name__ == "__main__":
    main()
