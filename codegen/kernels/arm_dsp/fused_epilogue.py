"""The DSP kernels' fused requantisation epilogue: its per-channel constants, and the
checks that it gives TFLM's bits.

The reference epilogue (tinyrig_fixedpoint.h) is TFLM's double-rounding
MultiplyByQuantizedMultiplier: x = acc << ls; y = SRDHM(x, M); RDBP(y, e).
The DSP kernels (tinyrig_dsp_common.h `requantize`) compute the same bits in three instructions,

    y = SMMLAR(acc', M, r)         acc' = acc * 2^(ls+1), r = 2^(e-1) + zp * 2^e
    y += acc' >> 31                 (-1 for a negative accumulator)
    y >>= e                         then saturate to int8 (SSAT) and clamp,

because, when nothing overflows (checked here, per channel, from the weights):
  * SRDHM(x, M) = floor((x*M + 2^30) / 2^31) (TFLM's nudge-and-truncate equals
    this floor form for every x, M) = floor((2x*M + 2^31) / 2^32) = SMMULR(2x, M);
  * RDBP(y, e) = floor((y + 2^(e-1) - [y < 0]) / 2^e) for e >= 1, and adding the
    output zero point inside the floor as zp * 2^e is exact;
  * [y < 0] = [acc' < 0] when M > 2^30 (acc' is even, so acc' <= -2 gives
    acc'*M < -2^31, i.e. y < 0).
The 2^(ls+1) factor is folded into the widened weights and the bias on the host,
so the kernels accumulate acc' directly. A channel whose weights are all zero
(pruned channels, often with a huge bias and a zero multiplier) has an output
that does not depend on the input: it is computed here with TFLM's arithmetic and
emitted as a constant (zero weights and bias, r = 1 + 2 * value, e = 1). A layer
whose other channels break one of the conditions is declined and runs on the
reference kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..registry import Declined
from ..specialize_common import per_channel, tflm_requantize, wrap_int32

INT32_LIMIT = 2**31
# |x| for any int8 input, padding (the zero point) included.
MAX_ABS_INPUT = 128


def fused_epilogue_array(acc: np.ndarray, rq: tuple[int, int, int]) -> np.ndarray:
    """The kernels' fused requantisation (tinyrig_dsp_common.h `requantize`: SMMLAR,
    sign fixup, shift, SSAT) over an int64 array of int32 scaled accumulators."""
    multiplier, rounding, right = rq
    y = wrap_int32(rounding + ((np.asarray(acc, dtype=np.int64) * multiplier + 2**31) >> 32))
    y = wrap_int32(y + (acc >> 31))
    return np.clip(y >> right, -128, 127)


@dataclass
class FusedRequant:
    """Per-channel constants for the fused epilogue (see the module docstring)."""

    scale_shift: np.ndarray  # ls + 1: weights and bias are multiplied by 2^this
    table: np.ndarray  # [channels, 3] int32: multiplier, rounding + zero-point term, right shift
    constant: np.ndarray  # bool per channel: all-zero weights, output precomputed in `table`

    def scaled_bias(self, bias: np.ndarray, padded: int) -> np.ndarray:
        out = np.zeros(padded, dtype=np.int64)
        values = np.asarray(bias, dtype=np.int64).reshape(-1) << self.scale_shift
        values[self.constant] = 0
        out[: values.size] = values
        return out


def fused_requant(weight_rows: np.ndarray, bias: np.ndarray, multipliers: np.ndarray, shifts: np.ndarray,
                  output_zero_point: int, act_min: int, act_max: int, weight_bits: int = 16) -> FusedRequant:
    """Epilogue constants for channels whose weights are the rows of `weight_rows`.

    Declines unless, for every channel with a non-zero weight, the scaled
    accumulator, the SMMLAR result plus rounding term, and the scaled weights stay
    in range for all int8 inputs. The returned scale_shift is 0 for constant channels,
    whose bias the caller must then zero (see `constant_channels`). Every right shift
    in the table (live, constant and padded rows alike) is in 1..30: the DSP kernels
    keep one epilogue copy per shift, with the shift in SSAT's immediate.
    """
    rows = np.asarray(weight_rows, dtype=np.int64)
    channels = rows.shape[0]
    bias = np.asarray(bias, dtype=np.int64).reshape(-1)
    mult = per_channel(multipliers, channels)
    shift = per_channel(shifts, channels)
    constant = ~np.any(rows != 0, axis=1)
    constant_values = [tflm_requantize(int(b), int(m), int(s), int(output_zero_point), act_min, act_max)
                       for b, m, s in zip(bias[constant], mult[constant], shift[constant])]
    live = ~constant
    rows, bias, mult, shift = rows[live], bias[live], mult[live], shift[live]
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    scale_shift = left + 1
    if np.any(mult <= 2**30) or np.any(mult >= INT32_LIMIT):
        raise Declined("a multiplier is not in (2^30, 2^31): the sign of the product is not the accumulator's")
    if np.any(right < 1) or np.any(right > 30):
        raise Declined("a right shift is outside 1..30")
    if np.any(np.abs(rows).max(axis=1, initial=0) * 2**scale_shift > 2 ** (weight_bits - 1)):
        raise Declined(f"scaled weights do not fit int{weight_bits}")
    # Every partial sum is bounded by the sum of absolute terms.
    bound = (np.abs(bias) + np.abs(rows).sum(axis=1) * MAX_ABS_INPUT) * 2**scale_shift
    if np.any(bound >= INT32_LIMIT):
        raise Declined("the scaled accumulator may overflow int32")
    rounding = (1 << (right - 1)) + int(output_zero_point) * (1 << right)
    y_bound = (bound * mult >> 32) + 2
    if np.any(y_bound + np.abs(rounding) >= INT32_LIMIT):
        raise Declined("the rounding term may overflow int32")
    table = np.zeros((channels, 3), dtype=np.int64)
    table[live] = np.stack([mult, rounding, right], axis=1)
    if constant_values:
        table[constant] = [[2**30 + 1, 1 + 2 * v, 1] for v in constant_values]
    shifts_out = np.zeros(channels, dtype=np.int64)
    shifts_out[live] = scale_shift
    return FusedRequant(scale_shift=shifts_out, table=table.astype(np.int32), constant=constant)


def three_instruction_exact(weight_rows: np.ndarray, bias: np.ndarray, fused: FusedRequant) -> np.ndarray:
    """Per channel: whether the 3-instruction requantisation of the scaled accumulator acc'
    gives the fused epilogue's (TFLM's) bits for every int8 input:

        H = SMMULR(acc', M)                 = SRDHM(acc * 2^ls, M)
        y = SMMLAR(H, 2^(32 - e) + 1, zp)   = zp + floor((H + 2^(e-1)) / 2^e + H / 2^32)

    The H / 2^32 term is below 2^-e in size while |H| < 2^(32 - e): it leaves a non-negative
    H's floor alone and lowers a negative H's exactly at the ties, which is RDBP's rounding of
    negatives. Beyond, the result is off by at most 2, which saturated outputs absorb: always
    so for 2 <= e <= 11 (|H| / 2^e >= 2^(32 - 2e) - 1 > 258), otherwise only if no input can
    reach such an |H| (the bound from the weights, as fused_requant's). e = 1 has no int32
    factor. Constant channels (all-zero weights) take any form: the kernels give them their
    own constants."""
    rows = np.asarray(weight_rows, dtype=np.int64)
    bias = np.asarray(bias, dtype=np.int64).reshape(-1)
    multiplier, right = fused.table[:, 0].astype(np.int64), fused.table[:, 2].astype(np.int64)
    bound = (np.abs(bias) + np.abs(rows).sum(axis=1) * MAX_ABS_INPUT) << fused.scale_shift
    h_bound = ((bound * multiplier) >> 32) + 2
    exact = (right >= 2) & ((right <= 11) | (h_bound < 2.0 ** (32 - np.maximum(right, 1))))
    return exact | fused.constant


def pad_rows(table: np.ndarray, rows: int) -> np.ndarray:
    """Pads a per-channel table to `rows` with harmless entries (padded outputs are discarded)."""
    if table.shape[0] >= rows:
        return table
    filler = np.zeros((rows - table.shape[0], *table.shape[1:]), dtype=table.dtype)
    if table.ndim == 2 and table.shape[1] == 3:
        filler[:, 0], filler[:, 1], filler[:, 2] = 2**30 + 1, 1, 1
    return np.concatenate([table, filler])


def activation_clamps(act_min: int, act_max: int) -> int:
    """1 when the fused activation narrows the int8 range (SSAT alone is not enough)."""
    return int(act_min > -128 or act_max < 127)


def epilogue_constants(rows: np.ndarray, p: dict, c: dict, padded: int):
    """The fused epilogue of a layer whose channels' weights are `rows` (p, c: the reference
    plan's params and constants): the FusedRequant, the scaled bias and the (M, r, e) table,
    both padded to `padded` channels."""
    fused = fused_requant(rows, c["folded_bias"], c["multipliers"], c["shifts"], p["output_zero_point"],
                          p["activation_min"], p["activation_max"])
    return fused, fused.scaled_bias(c["folded_bias"], padded), pad_rows(fused.table, padded)


@dataclass
class HalvedEpilogue:
    """The fused epilogue for kernels that keep int8 weights in flash: weights and bias carry
    2^ls only (`weight_shift`), and the kernel doubles the accumulator itself before the
    SMMLAR (tinyrig_dsp_common.h `requantize_doubled`), which gives the same acc' = acc * 2^(ls+1)."""

    fused: FusedRequant
    weight_shift: np.ndarray  # per channel: ls (0 for constant channels)
    bias: np.ndarray  # [padded] int64: bias * 2^ls, constant channels 0
    table: np.ndarray  # [padded, 3]: multiplier, rounding + zero-point term, right shift

    def scaled_weights(self, rows: np.ndarray, out_rows: int, depth: int) -> np.ndarray:
        """[out_rows, depth] int8-range weights, zero-padded; declines when 2^ls pushes one out of int8."""
        scaled = np.zeros((out_rows, depth), dtype=np.int64)
        scaled[: rows.shape[0], : rows.shape[1]] = np.asarray(rows, dtype=np.int64) << self.weight_shift[:, None]
        if scaled.size and (scaled.min() < -128 or scaled.max() > 127):
            raise Declined("a weight times 2^(left shift) does not fit int8")
        return scaled


def halved_epilogue_constants(rows: np.ndarray, p: dict, c: dict, padded: int) -> HalvedEpilogue:
    """epilogue_constants for int8-weight kernels (see HalvedEpilogue). The overflow checks are
    fused_requant's: the kernel's accumulator is half of the checked acc', its double is acc'."""
    fused = fused_requant(rows, c["folded_bias"], c["multipliers"], c["shifts"], p["output_zero_point"],
                          p["activation_min"], p["activation_max"])
    weight_shift = np.maximum(fused.scale_shift - 1, 0)
    bias = np.zeros(padded, dtype=np.int64)
    values = np.asarray(c["folded_bias"], dtype=np.int64).reshape(-1) << weight_shift
    values[fused.constant] = 0
    bias[: values.size] = values
    return HalvedEpilogue(fused=fused, weight_shift=weight_shift, bias=bias, table=pad_rows(fused.table, padded))
