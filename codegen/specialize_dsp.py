"""Cortex-M DSP-extension kernels (runtime/arm_dsp/): weight re-layout and registration.

The CONV_2D and FULLY_CONNECTED kernels multiply with SMLAD (two 16x16 products per instruction), so
weights are stored pre-widened to int16 pairs, already scaled by the epilogue's
2^(ls+1) (see specialize_common), and ordered the way the kernels load them:

* CONV_2D: a 3-pixel x 2-channel register block. Per step the kernel loads one
  word of 2 input channels for each of 3 pixels (one LDM) and the same 2 channels
  of 2 filters (one LDM), then issues 6 SMLADs. The input is widened with SXTB16,
  which yields channels (0, 2) then (1, 3) of each group of 4, so the weights are
  permuted the same way. The depth is padded to a multiple of 4 (2 steps, the loops'
  unit). Layout, one stream read by one pointer: per channel pair its bias pair x 3
  (the accumulator seeds), [step][filter of the pair], then (M, r, e) of both filters.
* CONV_2D 1x1 on exactly 8 input channels (output channels a multiple of 4, no
  clamp): a pixel's 8 inputs stay in 4 registers and each filter is one LDM of its
  record [4 weight words, bias, M, r, e] (_pointwise8_plan).
* FULLY_CONNECTED: a 1 x 4-output block (batch 1 has no pixel reuse): per group of
  4 inputs, one LDM of 2 input words and two LDMs of 4 weight words feed 8 SMLADs.
  Layout: [output quad][input group][A/B half][output of the quad].
* ADD (same shapes): each input's rescaling depends on one int8 value, so it is a
  256-entry int32 table; the sum goes through the fused epilogue. Checked here
  against TFLM's arithmetic for all 65,536 input pairs.
DEPTHWISE_CONV_2D is in specialize_dsp_depthwise.py.
Channel and depth counts are padded with zero weights to the block sizes; padded
outputs are computed and discarded.
"""

from __future__ import annotations

import numpy as np

from .kernel_registry import KernelVariant, register
from .layer import ConstantRef as _ref, LayerPlan
from .specialize_common import (
    Declined,
    SpecializedLayerPlan,
    activation_clamps,
    add_rescaled_inputs,
    constants_of,
    fused_epilogue_array,
    fused_requant,
    int32_array,
    pack_int16_pairs,
    pad_rows,
    require_plain_conv,
    params_of,
    round_up,
    specialized_plan,
    tflm_mbqm_array,
)

FAMILY = "arm_dsp"
HEADER = "arm_dsp/tinyrig_dsp_kernels.h"
COMMON = "arm_dsp/tinyrig_dsp_common.h"

CONV_PIXELS, CONV_FILTERS, CONV_DEPTH_STEP = 3, 2, 4  # register block; depth per loop unit (2 steps)
FC_OUTPUTS, FC_DEPTH_STEP = 4, 16
# A 3x3 filter on 3 channels (dilation_w 1) reads each window as 3 rows of 9 bytes
# without im2col (conv_rgb3x3 in tinyrig_dsp_conv.cc): the words at bytes 0 and 4 of
# each row, then a word made of the bytes (r0[8], r2[8], r1[8], -) (PKHBT of the words
# at byte 8 of rows 0 and 1 gives the pair (r0[8], r1[8]); the word at byte 8 of row 2
# gives (r2[8], r2[10])). Column byte j holds window byte RGB3X3_ORDER[j]; -1 is a byte
# of some neighbouring input, multiplied by a zero weight.
RGB3X3_ORDER = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25,
                8, 26, 17, -1)
POINTWISE8_DEPTH = 8  # input channels of the register-resident 1x1 kernel
PAD_COPY_MAX_BYTES = 8192  # largest zero-point-bordered input copy a CONV_2D makes in scratch


def sxtb16_order(words16: np.ndarray) -> np.ndarray:
    """[rows, depth] int16 values (depth % 4 == 0) -> [rows, depth / 2] int32 words in the
    order SXTB16 widens int8 inputs: per group of 4, (v0, v2) then (v1, v3)."""
    rows, depth = words16.shape
    groups = words16.reshape(rows, depth // 4, 4)
    a = pack_int16_pairs(groups[:, :, 0], groups[:, :, 2])
    b = pack_int16_pairs(groups[:, :, 1], groups[:, :, 3])
    return np.stack([a, b], axis=2).reshape(rows, depth // 2)


def _scaled_padded(rows: np.ndarray, scale_shift: np.ndarray, out_rows: int, depth: int) -> np.ndarray:
    scaled = np.zeros((out_rows, depth), dtype=np.int64)
    scaled[: rows.shape[0], : rows.shape[1]] = rows.astype(np.int64) << scale_shift[:, None]
    return scaled


def _epilogue_constants(rows: np.ndarray, p: dict, c: dict, padded: int):
    fused = fused_requant(rows, c["folded_bias"], c["multipliers"], c["shifts"], p["output_zero_point"],
                          p["activation_min"], p["activation_max"])
    return fused, fused.scaled_bias(c["folded_bias"], padded), pad_rows(fused.table, padded)


def specialize_conv(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_conv(p)
    out_c, fh, fw = p["output_c"], p["filter_h"], p["filter_w"]
    depth = fh * fw * p["input_c"]
    rows = c["weights"].astype(np.int64).reshape(out_c, depth)
    depth_p = round_up(depth, CONV_DEPTH_STEP)
    out_p = round_up(out_c, CONV_FILTERS)
    fused, bias, table = _epilogue_constants(rows, p, c, out_p)
    scaled = _scaled_padded(rows, fused.scale_shift, out_p, depth_p)
    rgb3x3 = int(fh == 3 and fw == 3 and p["input_c"] == 3 and p["dilation_w"] == 1)
    if rgb3x3:  # columns read straight from 3 window rows of 9 bytes (RGB3X3_ORDER)
        order = np.array(RGB3X3_ORDER)
        scaled = np.where(order >= 0, scaled[:, np.maximum(order, 0)], 0)
    words = sxtb16_order(scaled)
    layout = words.reshape(out_p // 2, 2, depth_p // 2).transpose(0, 2, 1)  # [pair][step][filter]
    pointwise = int(fh == 1 and fw == 1 and p["pad_top"] == 0 and p["pad_left"] == 0)
    if (pointwise and p["input_c"] == POINTWISE8_DEPTH and out_c % 4 == 0
            and not activation_clamps(p["activation_min"], p["activation_max"])):
        return _pointwise8_plan(plan, p, words[:out_c], bias[:out_c], table[:out_c])
    # Padded convolutions with dilation_w 1 and a small enough input first copy the
    # input with its zero-point border, so that every window is read as whole strips.
    padded_h = (p["output_h"] - 1) * p["stride_h"] + (fh - 1) * p["dilation_h"] + 1
    padded_w = (p["output_w"] - 1) * p["stride_w"] + fw
    padded_h, padded_w = max(padded_h, p["pad_top"] + p["input_h"]), max(padded_w, p["pad_left"] + p["input_w"])
    bordered = (not pointwise and p["dilation_w"] == 1 and (p["pad_top"] > 0 or p["pad_left"] > 0
                or padded_h > p["input_h"] or padded_w > p["input_w"])
                and padded_h * padded_w * p["input_c"] <= PAD_COPY_MAX_BYTES)
    if not bordered:
        padded_h = padded_w = 0
    params = [
        ("input_h", p["input_h"]), ("input_w", p["input_w"]), ("input_c", p["input_c"]),
        ("output_h", p["output_h"]), ("output_w", p["output_w"]), ("output_c", out_c),
        ("filter_h", fh), ("filter_w", fw), ("stride_h", p["stride_h"]), ("stride_w", p["stride_w"]),
        ("dilation_h", p["dilation_h"]), ("dilation_w", p["dilation_w"]),
        ("pad_top", p["pad_top"]), ("pad_left", p["pad_left"]),
        ("input_zero_point", p["input_zero_point"]), ("depth", depth), ("depth_padded", depth_p),
        ("channels_padded", out_p), ("pointwise", pointwise), ("padded_h", padded_h), ("padded_w", padded_w),
        ("rgb3x3", rgb3x3),
        ("clamp", activation_clamps(p["activation_min"], p["activation_max"])),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("stream", _ref("stream")), ("bias", _ref("bias")), ("requant", _ref("requant")),
    ]
    pairs = out_p // 2
    # Per pair, in the order the assembly run reads it: seeds (bias pair x 3), weights, (M, r, e) x 2.
    stream = np.concatenate([np.tile(bias.reshape(pairs, 2), (1, 3)).astype(np.int64),
                             layout.reshape(pairs, -1).astype(np.int64), table.reshape(pairs, 6).astype(np.int64)],
                            axis=1)
    constants = [int32_array("stream", stream), int32_array("bias", bias), int32_array("requant", table)]
    # Widened columns of 3 pixels (2 bytes per value) plus one gathered int8 column.
    scratch = CONV_PIXELS * depth_p * 2 + (0 if pointwise else depth_p)
    if not pointwise and p["dilation_w"] == 1 and fw * p["input_c"] % 4:
        scratch += 2 * depth_p  # two more gathered windows (3 widened together)
    scratch += round_up(padded_h * padded_w * p["input_c"], 4)
    if rgb3x3:
        scratch += 4  # the word loads at byte 8 of a window's last row read past it (bordered copy, windows)
    note = f"{'1x1 direct' if pointwise else '3x3x3 direct rows' if rgb3x3 else 'im2col'} 3x2 SMLAD block, depth {depth}->{depth_p}"
    if padded_h:
        note += f", zero-point-bordered input copy {padded_h}x{padded_w}"
    return specialized_plan(plan, "DspConv2DParams", params, constants, scratch, note)


def _pointwise8_plan(plan: LayerPlan, p: dict, words: np.ndarray, bias: np.ndarray,
                     table: np.ndarray) -> SpecializedLayerPlan:
    """1x1 on 8 input channels (DspPointwise8Params): per filter a record of its 4 weight
    words, bias, M, rounding, e, read with one LDM; the pixel's inputs stay in registers."""
    records = np.concatenate([words.astype(np.int64), bias.reshape(-1, 1).astype(np.int64),
                              table.astype(np.int64)], axis=1)
    assert records.shape == (p["output_c"], 8)
    params = [
        ("output_h", p["output_h"]), ("output_w", p["output_w"]), ("output_c", p["output_c"]),
        ("input_w", p["input_w"]), ("stride_h", p["stride_h"]), ("stride_w", p["stride_w"]),
        ("records", _ref("records")),
    ]
    return specialized_plan(plan, "DspPointwise8Params", params, [int32_array("records", records)], 0,
                            "1x1 depth 8, inputs in registers, LDM per filter")


def specialize_fully_connected(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    depth, outputs = p["accum_depth"], p["output_depth"]
    rows = c["weights"].astype(np.int64).reshape(outputs, depth)
    depth_p = round_up(depth, FC_DEPTH_STEP)
    out_p = round_up(outputs, FC_OUTPUTS)
    fused, bias, table = _epilogue_constants(rows, p, c, out_p)
    words = sxtb16_order(_scaled_padded(rows, fused.scale_shift, out_p, depth_p))
    layout = words.reshape(out_p // 4, 4, depth_p // 4, 2).transpose(0, 2, 3, 1)
    params = [
        ("batches", p["batches"]), ("accum_depth", depth), ("depth_padded", depth_p),
        ("output_depth", outputs), ("outputs_padded", out_p),
        ("clamp", activation_clamps(p["activation_min"], p["activation_max"])),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("weights", _ref("weights")), ("bias", _ref("bias")), ("requant", _ref("requant")),
    ]
    constants = [int32_array("weights", layout), int32_array("bias", bias), int32_array("requant", table)]
    return specialized_plan(plan, "DspFullyConnectedParams", params, constants, depth_p * 2,
                        f"1x4 SMLAD block, depth {depth}->{depth_p}")


def specialize_add(plan: LayerPlan) -> SpecializedLayerPlan:
    p = params_of(plan)
    dims = list(p["output_dims"])
    scaled = add_rescaled_inputs(p)
    sums = scaled[0][:, None] + scaled[1][None, :]  # every (input1, input2) pair
    if np.abs(sums).max() >= 2**31:
        raise Declined("the rescaled sum may overflow int32")
    expected = np.clip(tflm_mbqm_array(sums, p["output_multiplier"], p["output_shift"]) + p["output_zero_point"],
                       p["activation_min"], p["activation_max"])
    # Fused epilogue of the output rescaling (specialize_common): the tables carry 2^(ls+1).
    left, right = max(p["output_shift"], 0), max(-p["output_shift"], 0)
    if not 1 <= right <= 30:
        raise Declined("the output right shift is outside 1..30")
    tables = [t << (left + 1) for t in scaled]
    if sum(np.abs(t).max() for t in tables) >= 2**31:
        raise Declined("the scaled sum may overflow int32")
    rq = (p["output_multiplier"], (1 << (right - 1)) + p["output_zero_point"] * (1 << right), right)
    fused = np.clip(fused_epilogue_array(tables[0][:, None] + tables[1][None, :], rq),
                    p["activation_min"], p["activation_max"])
    if not np.array_equal(fused, expected):
        raise Declined("the fused epilogue differs from TFLM for some input pair")
    params = [
        ("size", int(np.prod(dims))),
        ("clamp", activation_clamps(p["activation_min"], p["activation_max"])),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("table1", _ref("table1")), ("table2", _ref("table2")), ("requant", _ref("requant")),
    ]
    # A constant operand's array (op_elementwise) stays; the kernel reads it as an input.
    constants = [*plan.constants, int32_array("table1", tables[0]), int32_array("table2", tables[1]),
                 int32_array("requant", np.array(rq))]
    return specialized_plan(plan, "DspAddParams", params, constants, 0, "rescaling tables + fused epilogue")


POOL_MAX_WINDOW = 256  # int16 lanes: 256 * -128 is the most negative sum


def specialize_average_pool(plan: LayerPlan) -> SpecializedLayerPlan:
    """AVERAGE_POOL_2D (tinyrig_dsp_pooling.cc) keeps the reference parameters."""
    p = params_of(plan)
    if p["batches"] != 1:
        raise Declined("batch > 1")
    if p["filter_h"] * p["filter_w"] > POOL_MAX_WINDOW:
        raise Declined(f"a window of more than {POOL_MAX_WINDOW} values")
    return specialized_plan(plan, plan.params_type, list(plan.params), list(plan.constants), 0,
                        "SXTAB16 window sums, 16 channels per pass")


for _kernel_id, _source, _hook in (
    ("conv2d_s8", "tinyrig_dsp_conv.cc", specialize_conv),
    ("fully_connected_s8", "tinyrig_dsp_fully_connected.cc", specialize_fully_connected),
    ("add_s8", "tinyrig_dsp_add.cc", specialize_add),
    ("average_pool2d_s8", "tinyrig_dsp_pooling.cc", specialize_average_pool),
):
    register(
        KernelVariant(
            kernel_id=_kernel_id,
            variant=FAMILY,
            function=f"tinyrig::arm_dsp::{_kernel_id}",
            header=HEADER,
            sources=(COMMON, f"arm_dsp/{_source}", "arm_dsp/tinyrig_dsp_microkernels.cc"),
            specialize=_hook,
        ),
        FAMILY,
    )
