"""Random ggml blocks and their dequantisation by gguf-py, for tests/model/test_gguf_dequantize.cpp.

Usage: make_gguf_dequant_cases.py OUT_DIR [SEED]
For every type writes OUT_DIR/<TYPE>.bin (the raw blocks) and OUT_DIR/<TYPE>.f32 (the float32
values gguf.quants.dequantize gives, little-endian). The bytes are random except the IEEE-half
scale fields (d, m, dmin; every element of F16), which are random *finite* halves, subnormals
and signed zeros included, so every expected value is finite.
Needs numpy and gguf (0.19.0).
"""
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

# Byte offsets of the half-precision fields inside one block.
HALF_FIELDS = {
    T.Q8_0: [0],
    T.Q4_0: [0],
    T.Q4_1: [0, 2],
    T.Q5_0: [0],
    T.Q5_1: [0, 2],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
}
ELEMENTS = 16384  # per type


def finite_halves(rng, n):
    """Random half bit patterns with an exponent below 31 (no inf/NaN)."""
    bits = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
    exponent = (bits >> 10) & 0x1F
    return np.where(exponent == 0x1F, bits & np.uint16(0x83FF), bits).astype(np.uint16)


def main():
    out = Path(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for qtype in [T.F32, T.F16, T.BF16, *HALF_FIELDS]:
        block_size, type_size = GGML_QUANT_SIZES[qtype]
        n_blocks = ELEMENTS // block_size
        n_bytes = n_blocks * type_size
        raw = rng.integers(0, 256, size=n_bytes, dtype=np.uint16).astype(np.uint8)
        if qtype == T.F32:
            raw = rng.standard_normal(n_bytes // 4).astype(np.float32).view(np.uint8)
        elif qtype == T.F16:
            raw = finite_halves(rng, n_bytes // 2).view(np.uint8)
        elif qtype == T.BF16:
            bits = rng.integers(0, 1 << 16, size=n_bytes // 2, dtype=np.uint32).astype(np.uint16)
            exponent = (bits >> 7) & 0xFF
            raw = np.where(exponent == 0xFF, bits & np.uint16(0x807F), bits).astype(np.uint16).view(np.uint8)
        else:
            blocks = raw.reshape(n_blocks, type_size)
            for offset in HALF_FIELDS[qtype]:
                halves = finite_halves(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
                blocks[:, offset:offset + 2] = halves
            raw = blocks.reshape(-1)
        if qtype in (T.F32, T.F16):
            values = dequantize(raw.view(np.float32 if qtype == T.F32 else np.float16), qtype)
        else:
            values = dequantize(raw.reshape(1, -1), qtype).reshape(-1)
        values = np.ascontiguousarray(values, dtype=np.float32)
        assert np.isfinite(values).all(), qtype.name
        raw.tofile(out / f"{qtype.name}.bin")
        values.astype("<f4").tofile(out / f"{qtype.name}.f32")
    print("ok")


if __name__ == "__main__":
    main()
