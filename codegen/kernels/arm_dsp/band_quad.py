"""DSP-extension CONV_2D for 2-D filters on whole groups of 4 input channels
(tinyrig_dsp_band_quad.cc): a register block of 2 output pixels x 4 filters whose windows are read
in place from a band of widened input rows, tried before conv.py (whose band path runs the same
layers in 3-pixel x 2-filter blocks).

Per output row the filter_h input rows are widened once into a band laid [x][fy][c]
(tinyrig_dsp_band.cc), so a pixel's window is consecutive words and its neighbour's PIXEL_BYTES
on (an immediate of the assembly run, one copy per value). A step loads the 2 weight words of the
filter pairs (a, b), (c, d) and both pixels' band words (4 single LDRs, 5 cycles), then 8 SMLADs
and 2 SXTB16: 15 M4 cycles and 14 instructions for 16 MACs, where the 3x2 band unit takes 24 and
22 for 24. The stream is pointwise_quad.py's, the window in the band's [fx][fy][c] order: per quad
[step][2] weight words, then the 13 epilogue words (3-instruction requantisation).

Declined, for conv.py to run: 1x1 filters (pointwise_quad.py's), dilation, input or output
channels not whole groups of 4, rows of one pixel, a pixel step with no run copy or a band too
big for scratch, filters with all-zero weights (conv.py's live-filter wrapper skips them), a
filter whose requantisation is not exact in 3 instructions, a raw pair the int8 words cannot
encode, and layers the M4 cycle estimate below says the 3x2 band path runs in fewer cycles.
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef as _ref, LayerPlan, window_param
from ..registry import Declined, register
from ..specialize_common import (SpecializedLayerPlan, constants_of, int32_array, params_of, require_plain_conv,
                                 specialized_plan)
from . import dsp_kernel
from .conv import BAND_MAX_BYTES, BAND_PASS_UNITS  # the band (fill_band) is conv.py's
from .fused_epilogue import activation_clamps
from .quad_stream import QUAD_FILTERS, faster_elsewhere, quad_stream

QUAD_PIXELS, UNIT_DEPTH = 2, 4  # pixels of the register block (QUAD_FILTERS filters); window values per unit (2 SMLAD steps)
# The pixel steps the assembly has a run for (tinyrig_dsp_band_quad.cc TINYRIG_BQ_PIXEL_BYTES):
# 2 * filter_h * input_c * stride_w, e.g. a 3x3 filter on 16 channels 96 at stride 1, 192 at 2: the
# 3x3 and 5x5 windows' on 4-64 channels and the 2x2 and 1xN windows' on powers of 2. Unused runs
# cost compile time only; the largest keeps pixel 1's loads within LDR's 4095-byte offset.
PIXEL_BYTES = (8, 16, 24, 32, 40, 48, 64, 80, 96, 128, 144, 160, 192, 256, 288, 384, 512, 576, 768, 1152, 1536)
# Units per pass of the run (tinyrig_dsp_band_quad.cc TINYRIG_BQ_PASS_UNITS), without and with a
# small flash instruction cache.
PASS_UNITS, SMALL_CACHE_PASS_UNITS = 18, 6


def specialize_band_quad(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_conv(p)
    fh, fw, depth_c, out_c = p["filter_h"], p["filter_w"], p["input_c"], p["output_c"]
    if fh == 1 and fw == 1:
        raise Declined("a 1x1 filter (pointwise kernels)")
    if p["dilation_h"] != 1 or p["dilation_w"] != 1:
        raise Declined("dilation")
    if depth_c % UNIT_DEPTH:
        raise Declined(f"input channels not a multiple of {UNIT_DEPTH}")
    if out_c % QUAD_FILTERS:
        raise Declined(f"output channels not a multiple of {QUAD_FILTERS}")
    if p["output_w"] < QUAD_PIXELS:
        raise Declined(f"rows of fewer than {QUAD_PIXELS} pixels")
    pixel_bytes = 2 * fh * depth_c * p["stride_w"]
    if pixel_bytes not in PIXEL_BYTES:
        raise Declined(f"no run for a pixel step of {pixel_bytes} bytes")
    band_w = (p["output_w"] - 1) * p["stride_w"] + fw
    band_bytes = band_w * fh * depth_c * 2
    if band_bytes > BAND_MAX_BYTES:
        raise Declined(f"a band of {band_bytes} bytes (at most {BAND_MAX_BYTES})")
    depth = fh * fw * depth_c
    reason = _slower_than_band_pairs(p["output_h"], p["output_w"], depth, out_c)
    if reason:
        raise Declined(reason)
    # The band's window order: [fx][fy][c].
    rows = (c["weights"].astype(np.int64).reshape(out_c, fh, fw, depth_c).transpose(0, 2, 1, 3)
            .reshape(out_c, depth))
    stream = quad_stream(rows, p, c, out_c, depth)
    clamp = activation_clamps(p["activation_min"], p["activation_max"])
    params = [
        window_param(p), ("input_zero_point", p["input_zero_point"]), ("band_w", band_w),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("stream", _ref("stream")),
    ]
    note = (f"band of {fh} widened rows, 2x4 SMLAD block read in place ({pixel_bytes} B a pixel), int8 weights, "
            f"depth {depth}, 3-instruction requantisation")
    return specialized_plan(plan, f"DspBandQuadParams<{pixel_bytes}, {clamp}>", params,
                            [int32_array("stream", stream)], band_bytes, note)


def band_quad_cycles(rows: int, out_w: int, depth: int, out_c: int) -> float:
    """Estimated M4 cycles of the 2x4 block's runs over a layer (the band fill aside, the same for
    both paths): per pair of pixels (a row's odd last pixel paired with its neighbour) the call,
    per quad 15 a step and about 80 around it (first unit's entry, epilogue, stores, branch), and
    8 a further pass. Counted from the cycle model's timings; on ic01's layers 1, 4, 5, 8 and 9 it
    is 95-98% of the cycle model's count, band_pairs_cycles 94-96% of the 3x2 path's (the rest is
    mostly the band fill)."""
    units = depth // UNIT_DEPTH
    passes = -(-(units - 1) // PASS_UNITS) if units > 1 else 1
    per_quad = 15 * (depth // 2) + 80 + 8 * (passes - 1)
    return rows * -(-out_w // QUAD_PIXELS) * (60 + (out_c // QUAD_FILTERS) * per_quad)


def band_pairs_cycles(rows: int, out_w: int, depth: int, out_c: int) -> float:
    """The same for conv.py's band path (3x2 units of 24 cycles, about 62 around a pair, 6 a
    further pass of 18 units); its 1-2 leftover pixels a row go through the columns run 3 at a
    time after a copy (about 2 cycles a step and pixel)."""
    units = depth // UNIT_DEPTH
    passes = -(-(units - 1) // BAND_PASS_UNITS) if units > 1 else 1
    per_pair = 12 * (depth // 2) + 62 + 6 * (passes - 1)
    copies = rows * (out_w % 3) * (depth // 2) * 3
    return rows * out_w / 3 * (52 + (out_c // 2) * per_pair) + copies


def _slower_than_band_pairs(rows: int, out_w: int, depth: int, out_c: int) -> str | None:
    return faster_elsewhere(band_quad_cycles(rows, out_w, depth, out_c), band_pairs_cycles(rows, out_w, depth, out_c),
                            "the 3x2 band path")


register(dsp_kernel("conv2d_s8", "band_quad", specialize_band_quad, shared=("band",)), first=True)
