"""Reference numbers for the real SmolLM2-135M-Instruct Q4_1 GGUF, from transformers.

Usage: make_smollm2_golden.py GGUF_FILE OUT_JSON [FULL_LOGITS_DIR]
transformers loads the GGUF (AutoModelForCausalLM/AutoTokenizer.from_pretrained(gguf_file=...),
weights dequantised to float32, eager attention, CPU, 1 thread). For every case: the rendered
text (chat cases through the file's own chat template, add_generation_prompt), its ids (encoded
without added special tokens), the 10 largest next-token logits at the last position, logits
[0:16] at the first and last positions, and 20 greedy new tokens (stopping after EOS as
generate() does). With FULL_LOGITS_DIR, also writes <case>.f32: all logits [T, V] float32
little-endian (for the live comparison; too large to commit).
tests/golden/smollm2/golden.json is this script's output (committed); tests/model/test_gguf_smollm2.cpp
compares gavamoe against it, or against a fresh run when the venv has transformers and gguf.
Needs torch, transformers, accelerate, gguf 0.19.0, numpy.
"""
import json
import sys
from pathlib import Path

CASES = [
    {"name": "plain_france", "text": "The capital of France is"},
    {"name": "plain_digits", "text": "Hello world 12345!"},
    {"name": "plain_specials", "text": "I'm 3.14 <|im_start|>user\nhi<|im_end|>"},
    {"name": "chat_system_hi", "messages": [{"role": "system", "content": "You are X."},
                                             {"role": "user", "content": "Hi"}]},
    {"name": "chat_france", "messages": [{"role": "user", "content": "What is the capital of France?"}]},
]
TOP_K, SLICE, NEW_TOKENS = 10, 16, 20


def main():
    import gguf
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    path = Path(sys.argv[1])
    out_json = Path(sys.argv[2])
    full_dir = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                 dtype=torch.float32, attn_implementation="eager")
    model.eval()
    eos = model.config.eos_token_id
    cases = []
    for case in CASES:
        if "messages" in case:
            text = tokenizer.apply_chat_template(case["messages"], tokenize=False, add_generation_prompt=True)
        else:
            text = case["text"]
        ids = tokenizer.encode(text, add_special_tokens=False)
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].float()
            greedy = model.generate(torch.tensor([ids]), max_new_tokens=NEW_TOKENS, do_sample=False,
                                    eos_token_id=eos, pad_token_id=eos)[0, len(ids):].tolist()
        top = torch.topk(logits[-1], TOP_K)
        entry = {"name": case["name"], "text": text, "ids": ids,
                 "top_ids": top.indices.tolist(), "top_logits": top.values.tolist(),
                 "first_logits": logits[0, :SLICE].tolist(), "last_logits": logits[-1, :SLICE].tolist(),
                 "greedy": greedy, "greedy_text": tokenizer.decode(greedy)}
        if "messages" in case:
            entry["messages"] = case["messages"]
        cases.append(entry)
        if full_dir is not None:
            full_dir.mkdir(parents=True, exist_ok=True)
            logits.numpy().astype("<f4").tofile(full_dir / f"{case['name']}.f32")
    result = {"model": path.name, "vocab_size": int(model.config.vocab_size),
              "transformers": transformers.__version__, "torch": torch.__version__,
              "gguf": getattr(gguf, "__version__", "0.19.0"), "cases": cases}
    out_json.write_text(json.dumps(result, indent=1) + "\n")
    print("ok")


if __name__ == "__main__":
    main()
