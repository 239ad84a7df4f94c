"""DSP-extension DEPTHWISE_CONV_2D for one-column filters (tinyrig_dsp_depthwise_column.cc):
the 1-D convolutions along time of streaming models (sww01: 3x1 .. 15x1 over a [T, 1, C]
image). Registered before the general depthwise kernel, which takes what this declines.

Per channel one record [M, rounding, e, bias, tap pairs]: the fused epilogue's constants,
the scaled bias and the filter taps as int16 pairs (w[2j], w[2j+1]) along the height,
scaled for the fused epilogue (an odd filter's last pair is (w, 0)). Scratch holds the
widened input series of 4 channels of one column at a time.
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef as _ref, LayerPlan
from ..registry import Declined, register
from ..specialize_common import (SpecializedLayerPlan, constants_of, int32_array, params_of, require_plain_depthwise,
                                 round_up, specialized_plan)
from . import dsp_kernel
from .fused_epilogue import activation_clamps, epilogue_constants
from .smlad_layout import pack_int16_pairs, scaled_padded

LANES = 4  # channels widened together
BLOCK = 4  # output rows per MAC block
MAX_FILTER_H = 64  # keeps the record and scratch small; taller filters are not streaming models


def specialize_depthwise_column(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_depthwise(p, MAX_FILTER_H)
    if p["filter_w"] != 1:
        raise Declined("filter wider than one column")
    if p["stride_h"] != 1:
        raise Declined("stride along the column above 1")
    if p["pad_left"] != 0:
        raise Declined("padding left of a one-column filter")
    fh, channels = p["filter_h"], p["output_c"]
    tap_pairs = -(-fh // 2)
    rows = c["weights"].astype(np.int64).reshape(fh, channels).T  # [channel][tap]
    fused, bias, table = epilogue_constants(rows, p, c, channels)
    w = scaled_padded(rows, fused.scale_shift, channels, 2 * tap_pairs)  # [channel][tap], odd tap padded
    pairs = pack_int16_pairs(w[:, 0::2], w[:, 1::2]).astype(np.int64)  # [channel][tap pair]
    records = np.concatenate([table.astype(np.int64), bias[:, None], pairs], axis=1)
    blocks = -(-p["output_h"] // BLOCK)
    pair_words = BLOCK * blocks + 2 * (tap_pairs - 1)
    params = [
        ("channels", channels), ("input_h", p["input_h"]), ("pad_top", p["pad_top"]),
        ("output_h", p["output_h"]), ("output_w", p["output_w"]),
        ("in_col_bytes", p["stride_w"] * channels), ("in_row_bytes", p["input_w"] * channels),
        ("out_row_bytes", p["output_w"] * channels),
        ("blocks", blocks), ("tap_pairs", tap_pairs), ("pair_words", pair_words),
        ("record_words", records.shape[1]),
        ("input_zero_point", p["input_zero_point"]),
        ("clamp", activation_clamps(p["activation_min"], p["activation_max"])),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("records", _ref("records")),
    ]
    scratch = LANES * pair_words * 4
    return specialized_plan(plan, "DspDepthwiseColumnParams", params, [int32_array("records", records)], scratch,
                            f"{fh}x1 column SMLAD on height pairs, {BLOCK} outputs per block")


register(dsp_kernel("depthwise_conv2d_s8", "depthwise_column", specialize_depthwise_column), first=True)
