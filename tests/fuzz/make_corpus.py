#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_gguf, fuzz_tokenizer_json and fuzz_safetensors
(tests/fuzz/corpus/).

The seeds are tiny valid files, so that the fuzzer starts from inputs that get past the first
checks: GGUF files written with the `gguf` package (metadata of every value type, F32 and Q8_0
tensors), byte-level BPE tokenizer.json files trained with `tokenizers` on a few sentences, and
safetensors files written with `safetensors` (every dtype the reader takes, metadata, an empty
tensor) next to two that lie (an offset past the data, overlapping tensors).
Run with the project's venv (it has both packages); the output is deterministic:

    ~/.cache/gavamoe/venv/bin/python tests/fuzz/make_corpus.py
"""

import json
import os
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

CORPUS = Path(__file__).resolve().parent / "corpus"


def gguf_seeds() -> dict[str, bytes]:
    import gguf
    from gguf.constants import GGMLQuantizationType, GGUFValueType

    def write(configure) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "seed.gguf")
            writer = gguf.GGUFWriter(path, "llama")
            configure(writer)
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.write_tensors_to_file()
            writer.close()
            return Path(path).read_bytes()

    def every_value_type(w):
        w.add_uint8("seed.u8", 200)
        w.add_int8("seed.i8", -5)
        w.add_uint16("seed.u16", 60000)
        w.add_int16("seed.i16", -300)
        w.add_uint32("llama.block_count", 2)
        w.add_int32("llama.attention.head_count", 4)
        w.add_float32("llama.rope.freq_base", 10000.0)
        w.add_bool("tokenizer.ggml.add_bos_token", True)
        w.add_string("tokenizer.ggml.model", "gpt2")
        w.add_uint64("llama.context_length", 64)
        w.add_int64("seed.i64", -(1 << 40))
        w.add_float64("seed.f64", 0.25)
        w.add_array("tokenizer.ggml.tokens", ["a", "b", "\u0120c", "<|end|>"])
        w.add_key_value("tokenizer.ggml.token_type", [1, 1, 1, 3], GGUFValueType.ARRAY,
                        GGUFValueType.INT32)
        w.add_key_value("seed.bools", [True, False], GGUFValueType.ARRAY, GGUFValueType.BOOL)
        w.add_key_value("seed.nested", [[7, 8], [9]], GGUFValueType.ARRAY, GGUFValueType.ARRAY)
        w.add_tensor("a.weight", np.arange(6, dtype=np.float32).reshape(2, 3))
        values = np.linspace(-1, 1, 64, dtype=np.float32).reshape(2, 32)
        # A uint8 array with raw_dtype: the writer turns the byte shape (2, 34) into (2, 32).
        w.add_tensor("b.weight", gguf.quants.quantize(values, GGMLQuantizationType.Q8_0),
                     raw_dtype=GGMLQuantizationType.Q8_0)

    def aligned_64(w):
        w.add_uint32("general.alignment", 64)
        w.add_string("general.name", "seed")
        w.add_tensor("scalar", np.array([1.5], dtype=np.float32))
        w.add_tensor("c.weight", np.ones((4, 4), dtype=np.float32))

    seeds = {"every_value_type.gguf": write(every_value_type), "aligned_64.gguf": write(aligned_64)}
    # Version 2 has the same layout; the writer only produces version 3.
    v2 = bytearray(seeds["aligned_64.gguf"])
    v2[4:8] = struct.pack("<I", 2)
    seeds["version_2.gguf"] = bytes(v2)
    return seeds


def tokenizer_seeds() -> dict[str, bytes]:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers import trainers

    sentences = [
        "The pasta was great, the service slow.",
        "Great battery life; the screen is too dim at 30% brightness.",
        "I'd buy it again!  Two stars off for the shipping.",
        "Caf\u00e9 au lait, cr\u00e8me br\u00fbl\u00e9e and 3 na\u00efve reviewers.",
        "\u65e5\u672c\u8a9e\u306e\u30ec\u30d3\u30e5\u30fc\u3067\u3059\u3002",
    ] * 4
    specials = ["<|endoftext|>", "<user>", "<item>", "<sep>"]

    def train(pre_tokenizer) -> Tokenizer:
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizer
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tokenizer.train_from_iterator(sentences, trainer)
        return tokenizer

    # GPT-2 style: ByteLevel with its own regex, BOS from a template post-processor.
    gpt2 = train(pre_tokenizers.ByteLevel(add_prefix_space=False))
    bos = gpt2.token_to_id("<|endoftext|>")
    gpt2.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", bos)])

    # Llama-3 / SmolLM2 style: explicit Split regexes before a regex-free ByteLevel, NFC.
    split = train(pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Split(pattern=__import__("tokenizers").Regex(
            r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"),
            behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ]))
    split.normalizer = normalizers.NFC()

    def compact(tokenizer: Tokenizer) -> bytes:
        document = json.loads(tokenizer.to_str())
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    return {"gpt2_byte_level.json": compact(gpt2), "split_nfc.json": compact(split)}


def safetensors_seeds() -> dict[str, bytes]:
    import torch
    from safetensors.torch import save

    generator = torch.Generator().manual_seed(7)
    tensors = {
        "model.embed_tokens.weight": torch.randn(4, 3, generator=generator),
        "model.norm.weight": torch.ones(3, dtype=torch.float16),
        "lm_head.weight": torch.zeros(2, 3, dtype=torch.bfloat16),
        "ids": torch.arange(5, dtype=torch.int64),
        "empty": torch.zeros(0, 3),
    }
    valid = save(tensors, metadata={"format": "pt"})

    def with_header(header: dict, data: bytes) -> bytes:
        text = json.dumps(header, separators=(",", ":")).encode()
        return struct.pack("<Q", len(text)) + text + data

    past_end = with_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}},
                           bytes(8))
    overlap = with_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                           "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
                          bytes(12))
    return {"valid.safetensors": valid, "offset_past_end.safetensors": past_end,
            "overlap.safetensors": overlap}


def main() -> int:
    for folder, seeds in (("gguf", gguf_seeds()), ("tokenizer_json", tokenizer_seeds()),
                          ("safetensors", safetensors_seeds())):
        out = CORPUS / folder
        out.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (out / name).write_bytes(data)
            print(f"{out / name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
