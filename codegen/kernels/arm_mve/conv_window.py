"""Helium first convolution (tinyrig_mve_conv_window.cc): CONV_2D over
1-4 input channels with a real spatial filter, its windows read in place.

Per output row the kernel re-lays the filter_h input rows it needs into one line
[column][filter row][channel] (pad columns and rows hold the input zero point, which
the folded bias expects), so the window of output x is filter_w * filter_h * input_c
contiguous bytes at x * stride_w columns. The weights are the general Helium conv's
interleaved layout (conv.py's conv_constants) with each filter's depth
reordered to [fx][fy][c]. Layers it does not take (other channel counts, 1x1
filters, dilation, a left shift or no right shift, scatter offsets past a byte)
are declined to the general Helium conv.
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantArray, ConstantRef, window_param
from ..registry import Declined, register
from ..specialize_common import (SpecializedLayerPlan, constants_of, params_of, require_plain_conv, round_up,
                                 specialized_plan)
from . import mve_kernel
from .conv import conv_constants
from .requant import output_params

MAX_INPUT_C = 4
MAX_RING_ROWS = 5  # ring of row slots only for filters up to this tall (weights x filter_h)


def specialize_conv_window(plan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_conv(p)
    ic, fh, fw = p["input_c"], p["filter_h"], p["filter_w"]
    if not 1 <= ic <= MAX_INPUT_C:
        raise Declined(f"input depth {ic} is not 1..{MAX_INPUT_C}")
    if fh * fw == 1:
        raise Declined("a 1x1 filter")
    if p["dilation_h"] != 1 or p["dilation_w"] != 1:
        raise Declined("dilation")
    column_bytes = fh * ic
    if (15 // ic) * column_bytes + 15 % ic > 255:
        raise Declined("a scatter offset past 255 (filter too tall)")
    out_c = p["output_c"]
    by_column = c["weights"].astype(np.int64).reshape(out_c, fh, fw, ic).transpose(0, 2, 1, 3)  # [fx][fy][c]
    # A ring of row slots (each input row laid once) where windows of neighbouring
    # output rows overlap, the width is even (one line) and filter_h weight copies are cheap.
    phases = fh if (p["stride_h"] < fh <= MAX_RING_ROWS and p["output_w"] % 2 == 0) else 1
    constants, depth_p, out_p, general = conv_constants(by_column.reshape(out_c, -1), c)
    if general:
        raise Declined("a left shift or no right shift (the fused epilogue needs a right shift)")
    depth = fw * fh * ic
    phase_bytes = out_p * depth_p
    if phases > 1:  # phase r: slot s holds filter row (s - r) mod fh
        rolled = [np.roll(by_column, r, axis=2).reshape(out_c, -1) for r in range(1, phases)]
        copies = [constants[0].values, *(conv_constants(rows, c)[0][0].values for rows in rolled)]
        constants[0] = ConstantArray("weights", "int8_t", np.concatenate(copies))
    columns = max((p["output_w"] - 1) * p["stride_w"] + fw, p["pad_left"] + p["input_w"])
    line_bytes = round_up(columns * column_bytes + depth_p - depth, 4)
    params = [
        window_param(p),
        ("input_zero_point", p["input_zero_point"]), ("column_bytes", column_bytes), ("line_bytes", line_bytes),
        ("step_columns", 16 // ic), ("depth_padded", depth_p), ("channels_padded", out_p), *output_params(p),
        ("phases", phases), ("phase_bytes", phase_bytes),
        ("weights", ConstantRef("weights")), ("requant", ConstantRef("requant")),
    ]
    lines = 2 if p["output_w"] % 2 else 1  # odd widths: the last pixels of two rows are paired
    scratch = lines * line_bytes + out_p  # the line(s), a dummy output row
    return specialized_plan(plan, "MveConvWindowParams", params, constants, scratch,
                            f"window line ({fh}x{fw}x{ic} filter read in place{', ring of rows' if phases > 1 else ''}), "
                            f"2x4 VMLADAVA rows, depth {depth}->{depth_p}")


# Tried before the general conv, which takes what this declines. The odd-width row
# ends run the general conv's single-pair block, hence its source.
register(mve_kernel("conv2d_s8", "conv_window", specialize_conv_window, function="conv2d_window_s8",
                    extra_sources=("arm_mve/tinyrig_mve_conv.cc",)), first=True)
