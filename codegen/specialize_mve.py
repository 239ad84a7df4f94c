"""Helium (MVE) kernels for Cortex-M55 (runtime/arm_mve/): weight layout and registration.

* CONV_2D and FULLY_CONNECTED (the 1x1 case with batches as pixels): VMLADAVA.S8
  consumes int8 directly, so weights keep their int8 values, interleaved the way
  the 2-pixel x 4-filter assembly block loads them: [filter quad][16-byte chunk of
  the depth][filter of the quad][16], rows zero-padded to whole chunks and quads.
* DEPTHWISE_CONV_2D: specialize_mve_depthwise.py.
* ADD (same shapes): each input's TFLM rescaling of every int8 value as a 256-entry
  int32 table in raw-byte order, read by gather loads.
* AVERAGE_POOL_2D: a table of reciprocals, one per window size, each checked here
  to divide exactly for every sum the window can reach.

The epilogue is TFLM's own double-rounding requantisation done on 4 lanes
(VQRDMULH, a sign fix-up and VRSHL; see tinyrig_mve_common.h), from a per-quad
table [bias (input zero point folded in), multiplier, -right shift, left shift][4].
Its fast form needs right shifts of 1..31 and no left shift (an output scale
smaller than half the input x weight scale); CONV_2D and FULLY_CONNECTED layers
with other shifts use a form with 2 more instructions per 4 outputs, the
depthwise kernel declines them (they run on the DSP or reference kernel).
"""

from __future__ import annotations

import numpy as np

from .kernel_registry import KernelVariant, register
from .layer import ConstantArray, ConstantRef, LayerPlan
from .specialize_common import (
    Declined,
    SpecializedLayerPlan,
    add_rescaled_inputs,
    constants_of,
    int32_array,
    params_of,
    per_channel,
    require_plain_conv,
    round_up,
    specialized_plan,
)

FAMILY = "arm_mve"
HEADER = "arm_mve/tinyrig_mve_kernels.h"
COMMON = ("tinyrig_fixedpoint.h", "arm_mve/tinyrig_mve_common.h")
VECTOR, QUAD = 16, 4
POOL_MAX_WINDOW = 4096  # reciprocal table entries


def requant_table(bias: np.ndarray, multipliers: np.ndarray, shifts: np.ndarray, channels: int, *,
                  left_shifts: bool = False) -> np.ndarray:
    """[quads, 3 or 4, 4] int32: bias, multiplier, -right shift (and left shift) of each
    channel of a quad. Without `left_shifts` the kernel's epilogue needs right shifts
    of 1..31 (the fast form) and other layers are declined.

    Padded channels get a harmless entry; their outputs are never stored."""
    shifts = per_channel(shifts, channels)
    mults = per_channel(multipliers, channels)
    if np.any(shifts > 31) or np.any(shifts < -31):
        raise Declined("a requantisation shift is outside -31..31")
    if not left_shifts and np.any(shifts > -1):
        raise Declined("a requantisation shift is outside -31..-1 (the fast vector epilogue needs a right shift)")
    if np.any(mults < 0):
        raise Declined("a negative requantisation multiplier")
    padded = round_up(channels, QUAD)
    rows = 4 if left_shifts else 3
    table = np.zeros((rows, padded), dtype=np.int64)
    table[1], table[2] = 2**30, -1
    table[0, :channels] = np.asarray(bias, dtype=np.int64).reshape(-1)
    table[1, :channels], table[2, :channels] = mults, np.minimum(shifts, 0)
    if left_shifts:
        table[3, :channels] = np.maximum(shifts, 0)
    return table.reshape(rows, padded // QUAD, QUAD).transpose(1, 0, 2)


def _output_params(p: dict) -> list:
    return [("output_offset", p["output_zero_point"]),
            ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"])]


def _conv_constants(rows: np.ndarray, c: dict):
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


def _conv_layer(plan: LayerPlan, rows: np.ndarray, c: dict, shape: dict, note: str) -> SpecializedLayerPlan:
    p = params_of(plan)
    constants, depth_p, out_p, general = _conv_constants(rows, c)
    depth = rows.shape[1]
    direct = int(shape["filter_h"] == shape["filter_w"] == 1 and shape["pad_top"] == shape["pad_left"] == 0
                 and shape["input_c"] % VECTOR == 0)
    params = [
        *[(name, shape[name]) for name in ("input_h", "input_w", "input_c", "output_h", "output_w", "output_c",
                                           "filter_h", "filter_w", "stride_h", "stride_w",
                                           "dilation_h", "dilation_w", "pad_top", "pad_left")],
        ("input_zero_point", shape["input_zero_point"]), ("depth", depth), ("depth_padded", depth_p),
        ("channels_padded", out_p), ("direct", direct), ("general_shifts", general), *_output_params(p),
        ("weights", ConstantRef("weights")), ("requant", ConstantRef("requant")),
    ]
    # The raw accumulators of a pixel pair, two gathered columns, a dummy output row.
    scratch = 2 * out_p * 4 + 2 * depth_p + out_p
    kind = "1x1 direct" if direct else "gathered"
    return specialized_plan(plan, "MveConv2DParams", params, constants, scratch,
                        f"{kind} 2x4 VMLADAVA block, depth {depth}->{depth_p}{note}"
                        + (", left-shift epilogue" if general else ""))


def specialize_conv(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_conv(p)
    out_c, fh, fw = p["output_c"], p["filter_h"], p["filter_w"]
    rows = c["weights"].astype(np.int64).reshape(out_c, fh * fw * p["input_c"])
    packed = _packed_pointwise(p, rows, c)
    if packed is not None:
        return _conv_layer(plan, *packed)
    return _conv_layer(plan, rows, c, p, "")


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


def specialize_fully_connected(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    depth, outputs = p["accum_depth"], p["output_depth"]
    rows = c["weights"].astype(np.int64).reshape(outputs, depth)
    # A 1x1 convolution over a 1 x batches image of `depth` channels.
    shape = dict(input_h=1, input_w=p["batches"], input_c=depth, output_h=1, output_w=p["batches"],
                 output_c=outputs, filter_h=1, filter_w=1, stride_h=1, stride_w=1, dilation_h=1, dilation_w=1,
                 pad_top=0, pad_left=0, input_zero_point=0)
    return _conv_layer(plan, rows, c, shape, " (fully connected)")


def exact_reciprocal(count: int) -> int:
    """r with (n * r) >> 32 == n // count for every n an int8 window of `count` values
    can give TFLM's rounding division (0 <= n <= 128 * count + count // 2); 0 for 1."""
    if count <= 1:
        return 0
    r = -(-(2**32) // count)
    n = np.arange(128 * count + count // 2 + 1, dtype=np.uint64)
    if not np.array_equal((n * np.uint64(r)) >> np.uint64(32), n // np.uint64(count)):
        raise Declined(f"no exact 32-bit reciprocal for a window of {count}")
    return r


def specialize_average_pool(plan: LayerPlan) -> SpecializedLayerPlan:
    p = params_of(plan)
    if p["batches"] != 1:
        raise Declined("batch > 1")
    window = p["filter_h"] * p["filter_w"]
    if window > POOL_MAX_WINDOW:
        raise Declined(f"a window of more than {POOL_MAX_WINDOW} values")
    reciprocals = np.array([exact_reciprocal(count) for count in range(window + 1)], dtype=np.int64)
    reciprocals = np.where(reciprocals >= 2**31, reciprocals - 2**32, reciprocals)  # stored as int32 bits
    params = [
        *[(name, p[name]) for name in ("input_h", "input_w", "channels", "output_h", "output_w",
                                       "filter_h", "filter_w", "stride_h", "stride_w", "pad_top", "pad_left",
                                       "activation_min", "activation_max")],
        ("reciprocals", ConstantRef("reciprocals")),
    ]
    return specialized_plan(plan, "MveAveragePool2DParams", params, [int32_array("reciprocals", reciprocals)], 0,
                        "VLDRB.S32 sums, reciprocal division")


def specialize_add(plan: LayerPlan) -> SpecializedLayerPlan:
    p = params_of(plan)
    dims = list(p["output_dims"])
    scaled = add_rescaled_inputs(p)
    if p["output_shift"] > 0 or p["output_shift"] < -31:
        raise Declined("the output shift is outside -31..0")
    tables = [np.roll(t, -128) for t in scaled]  # raw-byte order (0..255), as the gather loads index
    if sum(np.abs(t).max() for t in tables) >= 2**31:
        raise Declined("the rescaled sum may overflow int32")
    params = [
        ("size", int(np.prod(dims))),
        ("output_multiplier", p["output_multiplier"]), ("output_neg_shift", p["output_shift"]),
        ("output_offset", p["output_zero_point"]),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("table1", ConstantRef("table1")), ("table2", ConstantRef("table2")),
    ]
    # A constant operand's array (op_elementwise) stays; the kernel reads it as an input.
    constants = [*plan.constants, int32_array("table1", tables[0]), int32_array("table2", tables[1])]
    return specialized_plan(plan, "MveAddParams", params, constants, 0, "rescaling tables read by gather loads")


for _kernel_id, _source, _hook in (
    ("conv2d_s8", "tinyrig_mve_conv.cc", specialize_conv),
    ("fully_connected_s8", "tinyrig_mve_conv.cc", specialize_fully_connected),
    ("average_pool2d_s8", "tinyrig_mve_pooling.cc", specialize_average_pool),
    ("add_s8", "tinyrig_mve_add.cc", specialize_add),
):
    register(
        KernelVariant(kernel_id=_kernel_id, variant=FAMILY, function=f"tinyrig::arm_mve::{_kernel_id}",
                      header=HEADER, sources=(*COMMON, f"arm_mve/{_source}"), specialize=_hook),
        FAMILY,
    )
