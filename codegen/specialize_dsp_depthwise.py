"""Cortex-M DSP-extension DEPTHWISE_CONV_2D (runtime/arm_dsp/tinyrig_dsp_depthwise.cc):
weight re-layout and registration.

* DEPTHWISE_CONV_2D (depth multiplier 1): 4 channels per step, SMLABB/SMLATT per
  tap on widened inputs; 3x3 filters in 2-pixel blocks. Layout: [channel group][tap][A/B half].
"""

from __future__ import annotations

import numpy as np

from .kernel_registry import KernelVariant, register
from .layer import ConstantRef as _ref, LayerPlan
from .specialize_common import (
    Declined,
    SpecializedLayerPlan,
    activation_clamps,
    constants_of,
    int32_array,
    pack_int16_pairs,
    params_of,
    round_up,
)
from .specialize_dsp import COMMON, FAMILY, HEADER, _epilogue_constants, _scaled_padded, _specialized

DW_CHANNELS = 4
DW_MAX_FILTER_H = 8  # row slots the depthwise kernel keeps on its stack


def specialize_depthwise(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    if p["batches"] != 1 or p["depth_multiplier"] != 1:
        raise Declined("batch > 1 or depth multiplier > 1")
    if p["dilation_h"] != 1 or p["dilation_w"] != 1:
        raise Declined("dilated depthwise")
    fh, fw, channels = p["filter_h"], p["filter_w"], p["output_c"]
    if fh > DW_MAX_FILTER_H:
        raise Declined(f"filter taller than {DW_MAX_FILTER_H}")
    taps = fh * fw
    rows = c["weights"].astype(np.int64).reshape(taps, channels).T  # [channel][tap]
    channels_p = round_up(channels, DW_CHANNELS)
    fused, bias, table = _epilogue_constants(rows, p, c, channels_p)
    scaled = _scaled_padded(rows, fused.scale_shift, channels_p, taps)  # [channel][tap]
    groups = scaled.reshape(channels_p // 4, 4, taps)
    a = pack_int16_pairs(groups[:, 0, :], groups[:, 2, :])
    b = pack_int16_pairs(groups[:, 1, :], groups[:, 3, :])
    layout = np.stack([a, b], axis=2)  # [group][tap][A/B]
    # One more output's columns than an odd row needs: the 3x3 block computes pixel pairs.
    padded_w = (round_up(p["output_w"], 2) - 1) * p["stride_w"] + fw
    params = [
        ("input_h", p["input_h"]), ("input_w", p["input_w"]), ("channels", channels),
        ("channel_groups", channels_p // 4), ("output_h", p["output_h"]), ("output_w", p["output_w"]),
        ("filter_h", fh), ("filter_w", fw), ("stride_h", p["stride_h"]), ("stride_w", p["stride_w"]),
        ("pad_top", p["pad_top"]), ("pad_left", p["pad_left"]), ("padded_w", padded_w),
        ("input_zero_point", p["input_zero_point"]),
        ("clamp", activation_clamps(p["activation_min"], p["activation_max"])),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("weights", _ref("weights")), ("bias", _ref("bias")), ("requant", _ref("requant")),
    ]
    constants = [int32_array("weights", layout), int32_array("bias", bias), int32_array("requant", table)]
    scratch = fh * padded_w * channels_p * 2  # fh widened, padded input rows
    block = (fh, fw) == (3, 3) and p["stride_w"] in (1, 2)
    return _specialized(plan, "DspDepthwiseConv2DParams", params, constants, scratch,
                        f"{fh}x{fw} SMLAxy on widened row ring" + (", 2x4 asm block" if block else ""))


register(
    KernelVariant(
        kernel_id="depthwise_conv2d_s8",
        variant=FAMILY,
        function="tinyrig::arm_dsp::depthwise_conv2d_s8",
        header=HEADER,
        sources=(COMMON, "arm_dsp/tinyrig_dsp_depthwise.cc", "arm_dsp/tinyrig_dsp_microkernels.cc"),
        specialize=specialize_depthwise,
    ),
    FAMILY,
)
