"""CONV_2D layers some of whose filters have all-zero weights (pruned or dead channels: most
filters of vww01's late 1x1 layers), for any family's convolution kernel.

Such a filter's output does not depend on the input: TFLM requantises the bias alone (the
folded bias has no zero-point term, the weights being zero). The layer then runs as the same
convolution over its live filters only, into a compact [pixel][live] tensor in scratch, and
each pixel's output row is the row of constant outputs with the live outputs stored by index
(`LiveFiltersParams<Inner>`, tinyrig_live_filters.h): MACs, weights and epilogue constants of
the zero filters are gone, for a copy-out of about one output row per pixel. The families
call `live_filters_plan` before their own specialisation and get None where it does not pay.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from ..layer import ConstantArray, ConstantRef, LayerPlan, ParamStruct
from .registry import Declined
from .specialize_common import SpecializedLayerPlan, params_of, per_channel, round_up, tflm_requantize

# A layer goes to its live filters once at least this share of its filters are all-zero: the
# copy-out costs about a cycle per output byte, a few filters' MACs pay for it only when few.
MIN_ZERO_SHARE = 0.25
MAX_CHANNELS = 0xFFFF  # live channel indices are uint16


def zero_filters(plan: LayerPlan) -> np.ndarray:
    """One bool per output channel: the filter's int8 weights are all zero."""
    out_c = params_of(plan)["output_c"]
    weights = _constant(plan, "weights").reshape(out_c, -1)
    return ~np.any(weights != 0, axis=1)


def live_filters_plan(plan: LayerPlan, specialize: Callable[[LayerPlan], SpecializedLayerPlan],
                      min_share: float = MIN_ZERO_SHARE) -> SpecializedLayerPlan | None:
    """`plan` as LiveFiltersParams around `specialize` of the same layer over its live filters,
    or None when fewer than `min_share` of the filters are all-zero or `specialize` declines the
    live layer (the caller then specialises the whole layer as usual)."""
    p = params_of(plan)
    out_c = p["output_c"]
    zero = zero_filters(plan)
    if not zero.any() or zero.sum() < min_share * out_c or out_c > MAX_CHANNELS:
        return None
    live = np.flatnonzero(~zero)
    try:
        # No live filter: the inner layer is never run; one filter stands in for its fields.
        inner = specialize(_subset_plan(plan, live if len(live) else np.array([0])))
    except Declined:
        return None
    pixels = p["output_h"] * p["output_w"]
    compact_bytes = round_up(pixels * len(live), 4)
    params = [("conv", ParamStruct(tuple(inner.params))), ("pixels", pixels), ("output_c", out_c),
              ("live", len(live)), ("compact_bytes", compact_bytes), ("constant_row", ConstantRef("constant_row")),
              ("live_channels", ConstantRef("live_channels"))]
    constants = [*inner.constants, ConstantArray("constant_row", "int8_t", constant_outputs(plan, zero)),
                 ConstantArray("live_channels", "uint16_t", live if len(live) else np.zeros(1, dtype=np.int64))]
    names = [array.name for array in constants]
    assert len(set(names)) == len(names), f"live_filters: constant names collide: {names}"
    note = f"{inner.note}, on the {len(live)} live of {out_c} filters ({out_c - len(live)} with all-zero weights)"
    return dataclasses.replace(inner, params_type=f"LiveFiltersParams<tinyrig::{inner.params_type}>", params=params,
                               constants=constants, output_shapes=plan.output_shapes, macs=plan.macs,
                               scratch_bytes=compact_bytes + inner.scratch_bytes,
                               reference_param_bytes=plan.param_bytes, note=note)


def constant_outputs(plan: LayerPlan, zero: np.ndarray) -> np.ndarray:
    """[output_c] int8 values: the zero filters' outputs (TFLM's requantisation of the bias), 0
    for the live ones."""
    p = params_of(plan)
    out_c = p["output_c"]
    bias, mult, shift = (per_channel(_constant(plan, name), out_c) for name in ("folded_bias", "multipliers", "shifts"))
    row = np.zeros(out_c, dtype=np.int64)
    for ch in np.flatnonzero(zero):
        row[ch] = tflm_requantize(int(bias[ch]), int(mult[ch]), int(shift[ch]), p["output_zero_point"],
                                  p["activation_min"], p["activation_max"])
    return row


def _constant(plan: LayerPlan, name: str) -> np.ndarray:
    return np.asarray(next(array.values for array in plan.constants if array.name == name), dtype=np.int64)


def _subset_plan(plan: LayerPlan, channels: np.ndarray) -> LayerPlan:
    """The portable plan of the same convolution keeping only the output channels `channels`."""
    out_c = params_of(plan)["output_c"]
    params = []
    for name, value in plan.params:
        if isinstance(value, ParamStruct) and name == "window":
            value = ParamStruct(tuple((k, len(channels) if k == "output_c" else v) for k, v in value.fields))
        params.append((name, value))
    constants = []
    for array in plan.constants:
        values = np.asarray(array.values)
        if array.name == "weights":
            values = values.reshape(out_c, -1)[channels].reshape(-1)
        elif array.name in ("folded_bias", "multipliers", "shifts") and values.size == out_c:
            values = values[channels]
        constants.append(ConstantArray(array.name, array.ctype, values))
    shapes = [(*shape[:-1], len(channels)) for shape in plan.output_shapes]
    return dataclasses.replace(plan, params=params, constants=constants, output_shapes=shapes,
                               macs=plan.macs * len(channels) // max(out_c, 1))
