"""Weights as the DSP kernels' SMLAD reads them: int16 pairs packed in int32 words,
scaled by the fused epilogue's 2^(ls+1) and zero-padded to the kernels' block sizes."""

from __future__ import annotations

import numpy as np


def pack_int16_pairs(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """int32 words holding two int16 halves, as SMLAD reads them (low half first in memory)."""
    low = np.asarray(low, dtype=np.int64) & 0xFFFF
    high = np.asarray(high, dtype=np.int64) & 0xFFFF
    return ((high << 16) | low).astype(np.uint32).view(np.int32)


def sxtb16_order(words16: np.ndarray) -> np.ndarray:
    """[rows, depth] int16 values (depth % 4 == 0) -> [rows, depth / 2] int32 words in the
    order SXTB16 widens int8 inputs: per group of 4, (v0, v2) then (v1, v3)."""
    rows, depth = words16.shape
    groups = words16.reshape(rows, depth // 4, 4)
    a = pack_int16_pairs(groups[:, :, 0], groups[:, :, 2])
    b = pack_int16_pairs(groups[:, :, 1], groups[:, :, 3])
    return np.stack([a, b], axis=2).reshape(rows, depth // 2)


def scaled_padded(rows: np.ndarray, scale_shift: np.ndarray, out_rows: int, depth: int) -> np.ndarray:
    """[out_rows, depth] weights: `rows` times 2^scale_shift per row, zeros after."""
    scaled = np.zeros((out_rows, depth), dtype=np.int64)
    scaled[: rows.shape[0], : rows.shape[1]] = rows.astype(np.int64) << scale_shift[:, None]
    return scaled


def int8_pair_words(rows: np.ndarray) -> np.ndarray:
    """[2 * pairs, depth] int8 weights (depth % 4 == 0) -> [pairs, depth / 2] int32 words, one
    per SMLAD step of a filter pair (a, b), kept int8 in flash. Step s covers the depth pair
    (d0, d1) that SXTB16 widens into the activations' step s ((v0, v2) then (v1, v3) per
    group of 4); its word holds the bytes (a[d0], b'[d0], a[d1], b'[d1]) with
    b' = b - [a < 0], so that SXTB16 gives filter a's int16 pair and each halfword of the
    raw word, read as int16, is 256 * b + a (raw_pair_encodable says when b' fits int8)."""
    values = np.asarray(rows, dtype=np.int64)
    count, depth = values.shape
    groups = values.reshape(count // 2, 2, depth // 4, 4)  # [pair][filter][group][4]
    a = groups[:, 0]
    b = groups[:, 1] - (a < 0)
    if values.size and (min(a.min(), b.min()) < -128 or max(a.max(), b.max()) > 127):
        raise ValueError("int8_pair_words: a weight is outside int8")
    even = np.stack([a[..., 0], b[..., 0], a[..., 2], b[..., 2]], axis=-1)
    odd = np.stack([a[..., 1], b[..., 1], a[..., 3], b[..., 3]], axis=-1)
    steps = np.stack([even, odd], axis=2).reshape(count // 2, depth // 2, 4)  # [pair][step][byte]
    return np.ascontiguousarray(steps.astype(np.int8)).view("<i4").reshape(count // 2, depth // 2)


def raw_pair_encodable(rows: np.ndarray, max_abs_input: int = 128) -> str | None:
    """Why int8_pair_words cannot encode the filter pairs of `rows` for a kernel that
    recovers b's sum from the raw word's accumulator minus a's (None when it can): b' must
    fit int8, and 256 * (b's sum) must fit int32 for every input."""
    values = np.asarray(rows, dtype=np.int64)
    a, b = values[0::2], values[1::2]
    if np.any(b - (a < 0) < -128):
        return "a weight of -128 beside a negative weight of its filter pair"
    if np.any(np.abs(b).sum(axis=1) * max_abs_input * 256 >= 2**31):
        return "a filter's weights are too large for 256 x its sum in int32"
    return None
