"""Helium CONV_2D (tinyrig_mve_conv.cc): weight layout and registration.

VMLADAVA.S8 consumes int8 directly, so weights keep their int8 values, interleaved
the way the 2-pixel x 4-filter assembly block loads them: [filter quad][16-byte
chunk of the depth][filter of the quad][16], rows zero-padded to whole chunks and
quads. FULLY_CONNECTED (fully_connected.py) and the first convolution's fallback
(conv_window.py) use the same layout and kernel.
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantArray, ConstantRef, LayerPlan, window_param
from ..live_filters import live_filters_plan
from ..registry import register
from ..specialize_common import (SpecializedLayerPlan, constants_of, int32_array, params_of, per_channel,
                                 require_plain_conv, round_up, specialized_plan)
from . import QUAD, VECTOR, mve_kernel
from .requant import output_params, requant_table


def conv_constants(rows: np.ndarray, c: dict):
    """Interleaved int8 weights [quad][chunk][4][16] and the requant table."""
    out_c, depth = rows.shape
    out_p, depth_p = round_up(out_c, QUAD), round_up(depth, VECTOR)
    table = requant_table(c["folded_bias"], c["multipliers"], c["shifts"], out_c, left_shifts=True)
    general = int(np.any(table[:, 2, :] == 0) or np.any(table[:, 3, :] > 0))  # no right shift, or a left one
    weights = np.zeros((out_p, depth_p), dtype=np.int64)
    weights[:out_c, :depth] = rows
    layout = weights.reshape(out_p // QUAD, QUAD, depth_p // VECTOR, VECTOR).transpose(0, 2, 1, 3)
    constants = [ConstantArray("weights", "int8_t", layout.reshape(-1)), int32_array("requant", table)]
    return constants, depth_p, out_p, general


def conv_layer(plan: LayerPlan, rows: np.ndarray, c: dict, shape: dict, note: str) -> SpecializedLayerPlan:
    p = params_of(plan)
    constants, depth_p, out_p, general = conv_constants(rows, c)
    depth = rows.shape[1]
    direct = int(shape["filter_h"] == shape["filter_w"] == 1 and shape["pad_top"] == shape["pad_left"] == 0
                 and shape["input_c"] % VECTOR == 0)
    params = [
        window_param(shape),
        ("input_zero_point", shape["input_zero_point"]), ("depth", depth), ("depth_padded", depth_p),
        ("channels_padded", out_p), ("direct", direct), ("general_shifts", general), *output_params(p),
        ("weights", ConstantRef("weights")), ("requant", ConstantRef("requant")),
    ]
    # The raw accumulators of a pixel pair, two gathered columns, a dummy output row.
    scratch = 2 * out_p * 4 + 2 * depth_p + out_p
    kind = "1x1 direct" if direct else "gathered"
    return specialized_plan(plan, "MveConv2DParams", params, constants, scratch,
                            f"{kind} 2x4 VMLADAVA block, depth {depth}->{depth_p}{note}"
                            + (", left-shift epilogue" if general else ""))


def specialize_conv(plan: LayerPlan) -> SpecializedLayerPlan:
    require_plain_conv(params_of(plan))
    return live_filters_plan(plan, _specialize_filters) or _specialize_filters(plan)


def _specialize_filters(plan: LayerPlan) -> SpecializedLayerPlan:
    """The layer with all its filters (the live-filter wrapper's inner layer, or every layer
    with few all-zero filters)."""
    p, c = params_of(plan), constants_of(plan)
    out_c, fh, fw = p["output_c"], p["filter_h"], p["filter_w"]
    rows = c["weights"].astype(np.int64).reshape(out_c, fh * fw * p["input_c"])
    packed = _packed_pointwise(p, rows, c)
    if packed is not None:
        return conv_layer(plan, *packed)
    return conv_layer(plan, rows, c, p, "")


def _packed_pointwise(p: dict, rows: np.ndarray, c: dict):
    """A 1x1 convolution over k = 16 / input_c pixels at a time (input_c 1, 2, 4 or 8),
    or None. k neighbouring pixels are one 16-byte column read in place, and each
    filter becomes k filters whose weights sit in one pixel's lanes (zeros elsewhere):
    the k * output_c outputs of such a column are exactly the k pixels' outputs, in
    memory order. No gather, at the price of the zero lanes a padded depth has anyway."""
    in_c, out_c = p["input_c"], p["output_c"]
    pixels = p["input_h"] * p["input_w"]
    if not (p["filter_h"] == p["filter_w"] == 1 and p["stride_h"] == p["stride_w"] == 1
            and p["pad_top"] == p["pad_left"] == 0 and in_c < VECTOR and VECTOR % in_c == 0):
        return None
    k = VECTOR // in_c
    if pixels % k:
        return None
    packed = np.zeros((k * out_c, VECTOR), dtype=np.int64)
    for j in range(k):
        packed[j * out_c:(j + 1) * out_c, j * in_c:(j + 1) * in_c] = rows
    tiled = {name: np.tile(per_channel(c[name], out_c), k) for name in ("folded_bias", "multipliers", "shifts")}
    shape = dict(input_h=1, input_w=pixels // k, input_c=VECTOR, output_h=1, output_w=pixels // k,
                 output_c=k * out_c, filter_h=1, filter_w=1, stride_h=1, stride_w=1, dilation_h=1, dilation_w=1,
                 pad_top=0, pad_left=0, input_zero_point=p["input_zero_point"])
    return packed, tiled, shape, f" ({k} pixels per column)"


register(mve_kernel("conv2d_s8", "conv", specialize_conv))
