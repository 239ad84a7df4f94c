"""DSP-extension DEPTHWISE_CONV_2D (tinyrig_dsp_depthwise.cc): weight re-layout and
registration.

* DEPTHWISE_CONV_2D (depth multiplier 1), 3x3 with stride 1 or 2 along rows or
  columns: channel-planar lines (see tinyrig_dsp_depthwise.cc), SMLAD on pairs of
  neighbouring inputs. Per channel a record of 7 words [rows 0, 1, 2, bias, 2M - 2^32,
  2^(32 - e) + 1, output zero point] (or [..., M, e + 2^31, rounding]): a row is one word of int8 weights that SXTB16 /
  SXTB16 ROR 8 turn into the row's two int16 pairs. Weights and bias carry half the fused
  epilogue's scale (fused_epilogue.HalvedEpilogue); the requantisation doubles the
  accumulator inside its first multiply, SMMLAR(a, 2M - 2^32, a) = SMMULR(2a, M), then
  SMMLAR by 2^(32 - e) + 1, or the fused epilogue's own form (after an ADD doubling) one
  output at a time where that is not exact or the activation clamps (see _line_requant). The filter row a ring slot holds rotates from
  line to line; the kernel has a MAC loop per rotation, so each row is stored once.
* The same 3x3 layers when lines are short output rows (at most DW_PLANE_MAX_STEPS MAC steps,
  at least 2 lines): the plane kernel (DspDepthwisePlaneParams) runs a band of lines per
  channel and call from a ring of DW_PLANE_SLOTS input rows per column word (no rotation), so
  the weights, the MAC entry and the requantisation's entry are paid once per channel and
  band, and the band's outputs, C bytes apart along and across rows, are requantised in one
  run. The ring holds chunks of channels (DW_PLANE_MAX_RING_BYTES). On vww01
  (qemu-mps2-an386) its 6x6x128 layers went from 144,958 to 116,446 est. cycles each, layer 25
  (3x3x256) 114,044 -> 88,101, layer 23 68,422 -> 56,658, layer 9 240,064 -> 215,456 and layer
  11 101,207 -> 96,210, for about 2.8 KB of code and less scratch (8,976 B, was 10,000).
* Other filters: 4 channels per step, SMLABB/SMLATT per tap on widened inputs.
  Layout: [channel group][tap][A/B half].
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef as _ref, LayerPlan, ParamStruct, window_param
from ..registry import register
from ..specialize_common import (SpecializedLayerPlan, constants_of, int32_array, params_of, require_plain_depthwise,
                                 round_up, specialized_plan)
from . import dsp_kernel
from .fused_epilogue import (activation_clamps, epilogue_constants, halved_epilogue_constants,
                             three_instruction_exact)
from .smlad_layout import pack_int16_pairs, scaled_padded

DW_CHANNELS = 4
DW_MAX_FILTER_H = 8  # row slots the depthwise kernel keeps on its stack
# The line kernel's accumulator buffer ends on this boundary and is at most this long: its
# MAC loop ends when the buffer pointer's low bits are zero (tinyrig_dsp_depthwise.cc kDwAccAlign).
DW_LINE_MAX_ACC_BYTES = 512
LINE_RECORD_WORDS = 7  # a channel's record in the line kernel (tinyrig_dsp_depthwise.cc kRecordWords)
# The plane kernel (DspDepthwisePlaneParams): a band of short output rows per call. Its ring
# holds DW_PLANE_SLOTS input rows per column word (tinyrig_dsp_depthwise.cc kPlaneSlots), and
# its MAC runs are straight sequences of at most DW_PLANE_MAX_STEPS steps (kPlaneMaxSteps):
# stride 1 along lines of up to 12 outputs, stride 2 along lines of up to 6.
DW_PLANE_SLOTS = 8
DW_PLANE_MAX_STEPS = 6
# The plane ring (DW_PLANE_SLOTS x column words x 4 bytes a channel) is at most this long:
# layers with more channels run through it in chunks of channels (a multiple of 4).
DW_PLANE_MAX_RING_BYTES = 8192


def specialize_depthwise(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_depthwise(p, DW_MAX_FILTER_H)
    fh, fw, channels = p["filter_h"], p["filter_w"], p["output_c"]
    taps = fh * fw
    if (fh, fw) == (3, 3):
        line = _line_plan(plan, p, c)
        if line is not None:
            return line
    rows = c["weights"].astype(np.int64).reshape(taps, channels).T  # [channel][tap]
    channels_p = round_up(channels, DW_CHANNELS)
    fused, bias, table = epilogue_constants(rows, p, c, channels_p)
    scaled = scaled_padded(rows, fused.scale_shift, channels_p, taps)  # [channel][tap]
    groups = scaled.reshape(channels_p // 4, 4, taps)
    a = pack_int16_pairs(groups[:, 0, :], groups[:, 2, :])
    b = pack_int16_pairs(groups[:, 1, :], groups[:, 3, :])
    layout = np.stack([a, b], axis=2)  # [group][tap][A/B]
    # One more output's columns than an odd row needs: the 3x3 block computes pixel pairs.
    padded_w = (round_up(p["output_w"], 2) - 1) * p["stride_w"] + fw
    params = [
        window_param(p), ("channel_groups", channels_p // 4), ("padded_w", padded_w),
        ("input_zero_point", p["input_zero_point"]),
        ("clamp", activation_clamps(p["activation_min"], p["activation_max"])),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("weights", _ref("weights")), ("bias", _ref("bias")), ("requant", _ref("requant")),
    ]
    constants = [int32_array("weights", layout), int32_array("bias", bias), int32_array("requant", table)]
    scratch = fh * padded_w * channels_p * 2  # fh widened, padded input rows
    return specialized_plan(plan, "DspDepthwiseConv2DParams", params, constants, scratch,
                            f"{fh}x{fw} SMLAxy on widened row ring")


def _line_requant(rows: np.ndarray, fused, table: np.ndarray, p: dict, c: dict) -> np.ndarray:
    """[channel][3]: the last words of the line kernel's records (tinyrig_dsp_depthwise.cc).

    Where exact, 2M - 2^32, 2^(32 - e) + 1 and the output zero point: SMMLAR(a, 2M - 2^32, a)
    on the kernel's half accumulator a is SMMULR(acc' = 2a, M), then SMMLAR by
    2^(32 - e) + 1 adding the zero point gives TFLM's rounding (TINYRIG_DWL_RQ). That holds
    while |H| = |SMMULR(acc', M)| < 2^(32 - e); beyond, the result is off by at most 2,
    which only saturated outputs (|H| / 2^e >= 2^(32 - 2e) - 1 > 128 + 2 + 128 for e <= 11)
    absorb. A constant channel (fused_epilogue: zero weights and bias, output v) gets e = 2
    and v as its zero point: H = 0 gives v. Other channels (e = 1, whose factor would not fit
    int32; e >= 12 with a possible |H| that large) and every channel of a layer whose
    activation clamps keep the fused epilogue's M, e + 2^31 (the kernel's flag for its
    one-at-a-time path) and rounding."""
    multiplier, rounding, right = (table[:, i].astype(np.int64) for i in range(3))
    exact = three_instruction_exact(rows, c["folded_bias"], fused)
    clamps = bool(activation_clamps(p["activation_min"], p["activation_max"]))
    fast = (exact | fused.constant) & (not clamps)
    zero_point = np.full(len(multiplier), p["output_zero_point"], dtype=np.int64)
    constant_value = (rounding - 1) // 2  # fused_epilogue: r = 1 + 2 * value, e = 1
    zero_point[fused.constant] = constant_value[fused.constant]
    fast_right = np.where(fused.constant, 2, right)
    fast_words = np.stack([2 * multiplier - 2**32, (1 << (32 - np.maximum(fast_right, 2))) + 1, zero_point], axis=1)
    shift_words = np.stack([multiplier, right - 2**31, rounding], axis=1)
    return np.where(fast[:, None], fast_words, shift_words)


def _line_plan(plan: LayerPlan, p: dict, c: dict) -> SpecializedLayerPlan | None:
    """The channel-planar line kernel (DspDepthwiseLineParams) for a 3x3 filter, or None
    when the stride along both axes is above 2 or a line's accumulators exceed
    DW_LINE_MAX_ACC_BYTES.
    Lines run along the longer output axis."""
    channels = p["output_c"]
    transposed = p["output_h"] > p["output_w"] and p["stride_h"] in (1, 2)
    if not transposed and p["stride_w"] not in (1, 2):
        return None
    rows = c["weights"].astype(np.int64).reshape(9, channels).T  # [channel][tap]
    halved = halved_epilogue_constants(rows, p, c, channels)
    fused, bias, table = halved.fused, halved.bias, halved.table
    # The requantisation doubles the accumulator to the epilogue's 2^(ls+1): the stored bytes
    # and the bias carry 2^ls, and the bytes must still fit int8.
    w = rows << halved.weight_shift[:, None]
    if np.any((w < -128) | (w > 127)):
        return None
    w = w.reshape(channels, 3, 3)  # [c][fy][fx]
    ch = channels
    if transposed:
        w = w.transpose(0, 2, 1)  # [c][across = x][along = y]
        geometry = dict(lines=p["output_w"], line_len=p["output_h"], in_lines=p["input_w"], in_len=p["input_h"],
                        stride_a=p["stride_h"], stride_x=p["stride_w"], pad_a=p["pad_top"], pad_x=p["pad_left"],
                        in_elem_bytes=p["input_w"] * ch, in_line_bytes=ch,
                        out_elem_bytes=p["output_w"] * ch, out_line_bytes=ch)
    else:
        geometry = dict(lines=p["output_h"], line_len=p["output_w"], in_lines=p["input_h"], in_len=p["input_w"],
                        stride_a=p["stride_w"], stride_x=p["stride_h"], pad_a=p["pad_left"], pad_x=p["pad_top"],
                        in_elem_bytes=ch, in_line_bytes=p["input_w"] * ch,
                        out_elem_bytes=ch, out_line_bytes=p["output_w"] * ch)
    stride_a = geometry["stride_a"]
    steps = -(-geometry["line_len"] // 2) if stride_a == 1 else geometry["line_len"]
    column_words = steps + 1
    acc_bytes = 4 * (2 * steps if stride_a == 1 else steps)
    if acc_bytes > DW_LINE_MAX_ACC_BYTES:
        return None
    # A row word's bytes: SXTB16 takes bytes 0 and 2 (the A pair), SXTB16 ROR 8 bytes 1 and 3 (B).
    zeros = np.zeros_like(w[:, :, 0])
    order = (w[:, :, 0], w[:, :, 1], w[:, :, 1], w[:, :, 2]) if stride_a == 1 else \
        (w[:, :, 0], w[:, :, 2], w[:, :, 1], zeros)
    row_words = sum((b & 0xFF) << (8 * i) for i, b in enumerate(order))  # [c][fy]
    row_words = ((row_words + 2**31) % 2**32) - 2**31
    requant = _line_requant(rows, fused, table, p, c)
    one_at_a_time = int(np.count_nonzero(requant[:, 1] < 0))
    records = np.concatenate([row_words, bias[:, None], requant], axis=1)
    assert records.shape == (channels, LINE_RECORD_WORDS)
    params = [
        ("channels", channels),
        *geometry.items(),
        ("steps", steps), ("column_words", column_words),
        ("input_zero_point", p["input_zero_point"]),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("records", _ref("records")),
    ]
    requant_note = (f"{one_at_a_time} of {channels} channels requantised one at a time" if one_at_a_time
                    else "3-instruction requantisation")
    constants = [int32_array("records", records)]
    band = None if transposed else _plane_band(geometry, steps, column_words, channels)
    if band is not None:
        band_lines, chunk = band
        # ring of `chunk` channels, a band's accumulators with the slack that puts their end on
        # the boundary, a row of zero points
        scratch = (DW_PLANE_SLOTS * column_words * chunk * 4 + 4 * band_lines * geometry["line_len"]
                   + DW_LINE_MAX_ACC_BYTES - 4 + round_up(channels, 4))
        note = (f"3x3 planar SMLAD lines in bands of {band_lines}, stride {stride_a} along "
                f"{geometry['line_len']}-output lines, {requant_note}")
        plane_params = [("line", ParamStruct(tuple(params))), ("band_lines", band_lines), ("chunk_channels", chunk)]
        return specialized_plan(plan, "DspDepthwisePlaneParams", plane_params, constants, scratch, note)
    # ring, accumulators with the slack that puts their end on the boundary, a row of zero points
    scratch = 3 * column_words * channels * 4 + acc_bytes + DW_LINE_MAX_ACC_BYTES - 4 + round_up(channels, 4)
    note = (f"3x3 planar SMLAD lines{' (transposed)' if transposed else ''}, stride {stride_a} along "
            f"{geometry['line_len']}-output lines, {requant_note}")
    return specialized_plan(plan, "DspDepthwiseLineParams", params, constants, scratch, note)


def _plane_band(geometry: dict, steps: int, column_words: int, channels: int) -> tuple[int, int] | None:
    """(band_lines, chunk_channels) for the plane kernel, or None where the line kernel runs:
    lines along output rows (their outputs follow each other C bytes apart), at most
    DW_PLANE_MAX_STEPS MAC steps a line, at least 2 lines a band whose input rows fit the
    ring's DW_PLANE_SLOTS slots and whose accumulators fit DW_LINE_MAX_ACC_BYTES. Bands are
    as even as the count of bands allows (fewer rows widened twice)."""
    lines, line_len, stride_x = geometry["lines"], geometry["line_len"], geometry["stride_x"]
    if steps > DW_PLANE_MAX_STEPS or lines < 2:
        return None
    most = min((DW_PLANE_SLOTS - 3) // stride_x + 1, DW_LINE_MAX_ACC_BYTES // (4 * line_len))
    if most < 2:
        return None
    bands = -(-lines // most)
    band_lines = -(-lines // bands)
    ring_channel_bytes = DW_PLANE_SLOTS * column_words * 4
    chunk = max(4, DW_PLANE_MAX_RING_BYTES // ring_channel_bytes // 4 * 4)
    return band_lines, min(chunk, channels)


register(dsp_kernel("depthwise_conv2d_s8", "depthwise", specialize_depthwise))
