"""Shared pieces of kernel specialisation: reading a reference LayerPlan, and the
fused requantisation epilogue the optimised kernels use.

The reference epilogue (tinyrig_fixedpoint.h) is TFLM's double-rounding
MultiplyByQuantizedMultiplier: x = acc << ls; y = SRDHM(x, M); RDBP(y, e).
The optimised kernels compute the same bits in three instructions,

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

from .layer import ConstantArray, LayerPlan

INT32_LIMIT = 2**31
# |x| for any int8 input, padding (the zero point) included.
MAX_ABS_INPUT = 128


class Declined(Exception):
    """An optimised variant cannot run this layer (shape or arithmetic out of its range)."""


@dataclass
class SpecializedLayerPlan(LayerPlan):
    """A LayerPlan re-laid for an optimised kernel."""

    scratch_bytes: int = 0  # RAM the kernel needs beside the arena (shared by all layers)
    reference_param_bytes: int = 0  # flash the reference layout of the same layer takes
    note: str = ""  # what was specialised, for reports


def params_of(plan: LayerPlan) -> dict:
    return dict(plan.params)


def constants_of(plan: LayerPlan) -> dict[str, np.ndarray]:
    return {array.name: np.asarray(array.values) for array in plan.constants}


def per_channel(values: np.ndarray, channels: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    return np.repeat(values, channels) if values.size == 1 else values


def _rounding_divide_by_pot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def tflm_requantize(acc: int, multiplier: int, shift: int, output_zero_point: int, act_min: int, act_max: int) -> int:
    """TFLM's MultiplyByQuantizedMultiplier (double rounding) + zero point + clamp, in
    Python integers; mirrors tinyrig_fixedpoint.h."""
    left, right = max(shift, 0), max(-shift, 0)
    x = ((acc << left) + 2**31) % 2**32 - 2**31  # the 32-bit wrap of the shift
    if x == multiplier == -(2**31):
        high = 2**31 - 1
    else:
        ab = x * multiplier
        nudge = 2**30 if ab >= 0 else 1 - 2**30
        high = _trunc_div(ab + nudge, 2**31)
    value = _rounding_divide_by_pot(high, right) + output_zero_point
    return min(max(value, act_min), act_max)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def _wrap32(x: np.ndarray) -> np.ndarray:
    return (x + 2**31) % 2**32 - 2**31


def tflm_mbqm_array(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier (double rounding) over an int64 array of int32
    values; the vectorised form of tflm_requantize without zero point and clamp."""
    left, right = max(shift, 0), max(-shift, 0)
    ab = _wrap32(np.asarray(x, dtype=np.int64) << left) * int(multiplier)  # |ab| < 2^62
    nudge = np.where(ab >= 0, 2**30, 1 - 2**30)
    high = np.where(ab + nudge >= 0, (ab + nudge) >> 31, -((-(ab + nudge)) >> 31))  # truncating division
    if multiplier == -(2**31):
        high = np.where(x == -(2**31), 2**31 - 1, high)
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + ((high & mask) > threshold)


def fused_epilogue_array(acc: np.ndarray, rq: tuple[int, int, int]) -> np.ndarray:
    """The kernels' fused requantisation (tinyrig_dsp_common.h `requantize`: SMMLAR,
    sign fixup, shift, SSAT) over an int64 array of int32 scaled accumulators."""
    multiplier, rounding, right = rq
    y = _wrap32(rounding + ((np.asarray(acc, dtype=np.int64) * multiplier + 2**31) >> 32))
    y = _wrap32(y + (acc >> 31))
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


def pad_rows(table: np.ndarray, rows: int) -> np.ndarray:
    """Pads a per-channel table to `rows` with harmless entries (padded outputs are discarded)."""
    if table.shape[0] >= rows:
        return table
    filler = np.zeros((rows - table.shape[0], *table.shape[1:]), dtype=table.dtype)
    if table.ndim == 2 and table.shape[1] == 3:
        filler[:, 0], filler[:, 1], filler[:, 2] = 2**30 + 1, 1, 1
    return np.concatenate([table, filler])


def pack_int16_pairs(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """int32 words holding two int16 halves, as SMLAD reads them (low half first in memory)."""
    low = np.asarray(low, dtype=np.int64) & 0xFFFF
    high = np.asarray(high, dtype=np.int64) & 0xFFFF
    return ((high << 16) | low).astype(np.uint32).view(np.int32)


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def activation_clamps(act_min: int, act_max: int) -> int:
    """1 when the fused activation narrows the int8 range (SSAT alone is not enough)."""
    return int(act_min > -128 or act_max < 127)


def int32_array(name: str, values: np.ndarray) -> ConstantArray:
    return ConstantArray(name, "int32_t", np.asarray(values, dtype=np.int64).reshape(-1))


def specialized_plan(plan: LayerPlan, params_type: str, params: list, constants: list, scratch_bytes: int,
                     note: str) -> SpecializedLayerPlan:
    """`plan` with an optimised kernel's parameter struct, constants and scratch."""
    return SpecializedLayerPlan(
        index=plan.index, op=plan.op, kernel_id=plan.kernel_id, params_type=params_type, params=params,
        constants=constants, inputs=plan.inputs, constant_inputs=plan.constant_inputs, outputs=plan.outputs,
        input_shapes=plan.input_shapes, output_shapes=plan.output_shapes, macs=plan.macs,
        alias_of=plan.alias_of, scratch_bytes=scratch_bytes, reference_param_bytes=plan.param_bytes, note=note,
    )


def require_plain_conv(p: dict) -> None:
    """Declines what no optimised CONV_2D kernel takes: batches, grouped convolutions."""
    if p["batches"] != 1:
        raise Declined("batch > 1")
    if p["filter_input_c"] != p["input_c"]:
        raise Declined("grouped convolution")


def require_plain_depthwise(p: dict, max_filter_h: int) -> None:
    """Declines what the optimised depthwise kernels do not take: batches, depth
    multipliers, dilation, filters taller than their row slots."""
    if p["batches"] != 1 or p["depth_multiplier"] != 1:
        raise Declined("batch > 1 or depth multiplier > 1")
    if p["dilation_h"] != 1 or p["dilation_w"] != 1:
        raise Declined("dilated depthwise")
    if p["filter_h"] > max_filter_h:
        raise Declined(f"filter taller than {max_filter_h}")


def _contiguous_strides(dims: list[int]) -> list[int]:
    """The strides op_elementwise gives an input of the output's own shape."""
    strides, stride = [0] * 4, 1
    for axis in range(3, -1, -1):
        strides[axis] = stride if dims[axis] > 1 else 0
        stride *= dims[axis]
    return strides


def add_rescaled_inputs(p: dict) -> list[np.ndarray]:
    """ADD of two same-shape inputs (broadcasting is declined): each input's TFLM rescaling
    ((v + offset) << left_shift, then its multiplier) of every int8 value v, from -128 up."""
    contiguous = _contiguous_strides(list(p["output_dims"]))
    if list(p["input1_strides"]) != contiguous or list(p["input2_strides"]) != contiguous:
        raise Declined("broadcasting add")
    values = np.arange(-128, 128, dtype=np.int64)
    return [tflm_mbqm_array((p[f"input{i}_offset"] + values) << p["left_shift"],
                            p[f"input{i}_multiplier"], p[f"input{i}_shift"]) for i in (1, 2)]
