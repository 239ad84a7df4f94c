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
