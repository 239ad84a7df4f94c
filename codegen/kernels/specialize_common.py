"""Helpers the optimised families' specialisers share: reading the portable (reference)
LayerPlan, TFLM's requantisation in Python integers (to check a kernel's arithmetic
against it on the host), the SpecializedLayerPlan a specialiser returns, and the
shape checks that decline what no optimised kernel takes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layer import ConstantArray, LayerPlan, ParamStruct
from .registry import Declined


@dataclass
class SpecializedLayerPlan(LayerPlan):
    """A LayerPlan re-laid for an optimised kernel."""

    scratch_bytes: int = 0  # RAM the kernel needs beside the arena (shared by all layers)
    reference_param_bytes: int = 0  # flash the reference layout of the same layer takes
    note: str = ""  # what was specialised, for reports


def params_of(plan: LayerPlan) -> dict:
    """The plan's parameters by name, the fields of embedded structs (Window2D) included."""
    params = {}
    for name, value in plan.params:
        if isinstance(value, ParamStruct):
            params.update(value.fields)
        else:
            params[name] = value
    return params


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


def wrap_int32(x: np.ndarray) -> np.ndarray:
    return (x + 2**31) % 2**32 - 2**31


def tflm_mbqm_array(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier (double rounding) over an int64 array of int32
    values; the vectorised form of tflm_requantize without zero point and clamp."""
    left, right = max(shift, 0), max(-shift, 0)
    ab = wrap_int32(np.asarray(x, dtype=np.int64) << left) * int(multiplier)  # |ab| < 2^62
    nudge = np.where(ab >= 0, 2**30, 1 - 2**30)
    high = np.where(ab + nudge >= 0, (ab + nudge) >> 31, -((-(ab + nudge)) >> 31))  # truncating division
    if multiplier == -(2**31):
        high = np.where(x == -(2**31), 2**31 - 1, high)
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + ((high & mask) > threshold)


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


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
