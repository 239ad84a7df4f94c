"""Helium (MVE) DEPTHWISE_CONV_2D for Cortex-M55 (runtime/arm_mve/tinyrig_mve_depthwise.cc):
weight layout and registration.

* Planar path (mid-sized maps whose windows a 16-byte gather reaches): channels are
  copied into zero-point-padded planes; each output is one byte-offset gather plus one
  VMLADAV with the channel's taps as int8 lanes [channel][16].
* Ring path (tiny maps, big images, wide windows): 4 channels per int32 vector on a
  [quad][column] row ring, weights pre-widened to int32: [channel quad][tap][4].
"""

from __future__ import annotations

import numpy as np

from .kernel_registry import KernelVariant, register
from .layer import ConstantArray, ConstantRef, LayerPlan
from .specialize_common import (
    SpecializedLayerPlan,
    int32_array,
    params_of,
    constants_of,
    require_plain_depthwise,
    round_up,
    specialized_plan,
)
from .specialize_mve import COMMON, FAMILY, HEADER, QUAD, VECTOR, _output_params, requant_table

DW_MAX_FILTER_H = 8  # ring slots the depthwise kernel keeps (kMaxFilterH)

PLANAR_GROUP_BYTES = 16384  # plane scratch the planar depthwise path aims for
PLANAR_MAX_BYTES = 32768  # at most this much scratch for 4 planes, else the ring path
# Output maps this small (vww01's 3x3 maps) run faster on the ring path.
PLANAR_MIN_OUTPUTS = 16


def _planar_geometry(p: dict) -> dict | None:
    """Plane layout of the planar depthwise path, or None when a window does not fit
    its 16-byte gather (more than 16 taps, or a tap of the window after it more than
    255 bytes on)."""
    fh, fw, oh, ow = p["filter_h"], p["filter_w"], p["output_h"], p["output_w"]
    sh, sw, pt, pl = p["stride_h"], p["stride_w"], p["pad_top"], p["pad_left"]
    channels = p["output_c"]
    if fh * fw > VECTOR:
        return None
    if oh * ow <= PLANAR_MIN_OUTPUTS:  # per-channel costs outweigh the gathers (measured on vww01)
        return None
    hp = max((oh - 1) * sh + fh, pt + p["input_h"])
    wp = max((ow - 1) * sw + fw, pl + p["input_w"])
    along_y = oh > ow  # lines along the longer output axis: fewer partial groups of 4
    if along_y:
        length, across, lines, line_len, along, across_step = hp, wp, ow, oh, sh, sw
        offsets = [fx * hp + fy for fy in range(fh) for fx in range(fw)]
        out_along, out_across = ow * channels, channels
    else:
        length, across, lines, line_len, along, across_step = wp, hp, oh, ow, sw, sh
        offsets = [fy * wp + fx for fy in range(fh) for fx in range(fw)]
        out_along, out_across = channels, ow * channels
    if max(offsets) + along > 255:  # byte offsets, also for the second window of a pair
        return None
    plane = length * across
    if QUAD * plane > PLANAR_MAX_BYTES:  # big images: the row ring needs far less RAM
        return None
    group = max(QUAD, min(round_up(channels, QUAD), PLANAR_GROUP_BYTES // plane // QUAD * QUAD))
    slack = 4 * along + VECTOR  # the windows of a last partial group read past the line
    return dict(along_y=int(along_y), lines=lines, line_len=line_len, plane_len=length, plane_size=plane,
                group=group, stride_along=along, stride_across=across_step * length,
                out_along=out_along, out_across=out_across, offsets=offsets,
                scratch=group * plane + slack)


def specialize_depthwise(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_depthwise(p, DW_MAX_FILTER_H)
    fh, fw, channels = p["filter_h"], p["filter_w"], p["output_c"]
    taps = fh * fw
    table = requant_table(c["folded_bias"], c["multipliers"], c["shifts"], channels)
    channels_p = round_up(channels, QUAD)
    weights = np.zeros((taps, channels_p), dtype=np.int64)
    weights[:, :channels] = c["weights"].astype(np.int64).reshape(taps, channels)
    # The 3x3 ring path computes pixel pairs: one more output's columns for an odd width.
    padded_w = (round_up(p["output_w"], 2) - 1) * p["stride_w"] + fw
    common = [
        ("input_h", p["input_h"]), ("input_w", p["input_w"]), ("channels", channels),
        ("output_h", p["output_h"]), ("output_w", p["output_w"]),
        ("filter_h", fh), ("filter_w", fw), ("stride_h", p["stride_h"]), ("stride_w", p["stride_w"]),
        ("pad_top", p["pad_top"]), ("pad_left", p["pad_left"]), ("padded_w", padded_w),
        ("channels_padded", channels_p), ("input_zero_point", p["input_zero_point"]), *_output_params(p),
    ]
    geometry = _planar_geometry(p)
    if geometry is not None:
        lanes = np.zeros((channels, VECTOR), dtype=np.int64)
        lanes[:, :taps] = weights[:, :channels].T  # [channel][tap], taps in (fy, fx) order like the offsets
        offsets = np.zeros(VECTOR, dtype=np.int64)
        offsets[:taps] = geometry["offsets"]
        offsets = np.where(offsets > 127, offsets - 256, offsets)  # u8 offsets stored as int8 bytes
        params = [
            *common, ("weights", 0), ("requant", ConstantRef("requant")), ("planar", 1),
            *[(name, geometry[name]) for name in ("along_y", "lines", "line_len", "plane_len", "plane_size", "group",
                                                  "stride_along", "stride_across", "out_along", "out_across")],
            ("planar_weights", ConstantRef("weights")), ("tap_offsets", ConstantRef("taps")),
        ]
        constants = [ConstantArray("weights", "int8_t", lanes.reshape(-1)), int32_array("requant", table),
                     ConstantArray("taps", "int8_t", offsets)]
        axis = "columns" if geometry["along_y"] else "rows"
        return specialized_plan(plan, "MveDepthwiseConv2DParams", params, constants, geometry["scratch"],
                            f"{fh}x{fw} planar: gathered window + VMLADAV per output, lines along {axis}")
    layout = weights.reshape(taps, channels_p // QUAD, QUAD).transpose(1, 0, 2)  # [quad][tap][4]
    params = [
        *common, ("weights", ConstantRef("weights")), ("requant", ConstantRef("requant")), ("planar", 0),
        *[(name, 0) for name in ("along_y", "lines", "line_len", "plane_len", "plane_size", "group",
                                 "stride_along", "stride_across", "out_along", "out_across",
                                 "planar_weights", "tap_offsets")],
    ]
    constants = [int32_array("weights", layout), int32_array("requant", table)]
    scratch = fh * padded_w * channels_p  # the ring of padded input rows
    block = "pixel-pair 3x3" if (fh, fw) == (3, 3) and p["stride_w"] in (1, 2) else "tap-by-tap"
    return specialized_plan(plan, "MveDepthwiseConv2DParams", params, constants, scratch,
                        f"{fh}x{fw} {block} VMUL+VADD.S32 on a [quad][column] row ring")


register(
    KernelVariant(kernel_id="depthwise_conv2d_s8", variant=FAMILY, function="tinyrig::arm_mve::depthwise_conv2d_s8",
                  header=HEADER, sources=(*COMMON, "arm_mve/tinyrig_mve_depthwise.cc"), specialize=specialize_depthwise),
    FAMILY,
)
