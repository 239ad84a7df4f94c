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
    group of 4); its word holds the bytes (a[d0], b[d0], a[d1], b[d1]), so SXTB16 gives
    filter a's int16 pair and SXTB16 ROR 8 filter b's."""
    values = np.asarray(rows, dtype=np.int64)
    if values.size and (values.min() < -128 or values.max() > 127):
        raise ValueError("int8_pair_words: a weight is outside int8")
    count, depth = values.shape
    groups = values.reshape(count // 2, 2, depth // 4, 4)  # [pair][filter][group][4]
    a, b = groups[:, 0], groups[:, 1]
    even = np.stack([a[..., 0], b[..., 0], a[..., 2], b[..., 2]], axis=-1)
    odd = np.stack([a[..., 1], b[..., 1], a[..., 3], b[..., 3]], axis=-1)
    steps = np.stack([even, odd], axis=2).reshape(count // 2, depth // 2, 4)  # [pair][step][byte]
    return np.ascontiguousarray(steps.astype(np.int8)).view("<i4").reshape(count // 2, depth // 2)
