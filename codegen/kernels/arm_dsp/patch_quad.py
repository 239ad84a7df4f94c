"""DSP-extension CONV_2D for 2-D windows on 1-3 input channels whose rows are whole words
(tinyrig_dsp_patch_quad.cc; kws01's 10x4 stem on one channel): each output pixel's window, filter_h
rows of filter_w * input_c bytes, is one pixel of depth K = filter_h * filter_w * input_c for the 1x1
kernel's 2-pixel x 4-filter runs (pointwise_quad.py), tried before conv.py's 3x2 block.

TFLite's OHWI weights are already in the window's (fy, fx, c) order, so the stream is pointwise_quad's
(quad_stream.py) over the flattened filters. Per pair of output pixels both windows are widened row
by row into the run's [step][pixel] columns, from the input or (padding) from the zero-point-bordered
copy conv.py would make; the run is the 1x1 kernel's, linked once for both kernels.

Declined, for conv.py (or the other 2x4 kernels) to run: 1x1 filters (pointwise_quad.py's), input
channels in fours (band_quad.py's, else conv.py's band path), dilation, window rows that are not whole
words (K = 27 for a 3x3 window on RGB: see _ROWS_NOT_WORDS), output channels not whole quads, a
bordered copy larger than conv.py allows, filters with all-zero weights, a requantisation not exact in
3 instructions, a raw pair the int8 words cannot encode (quad_stream), and layers the M4 cycle estimate
says run faster on the 3x2 block (few pixels).
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef as _ref, LayerPlan, window_param
from ..registry import Declined, register
from ..specialize_common import (SpecializedLayerPlan, constants_of, int32_array, params_of, require_plain_conv,
                                 round_up, specialized_plan)
from . import dsp_kernel
from .conv import PAD_COPY_MAX_BYTES, bordered_extent
from .fused_epilogue import activation_clamps
from .pointwise_quad import QUAD_PIXELS, UNIT_DEPTH, pairs_cycles, quad_cycles, straight_units
from .quad_stream import QUAD_FILTERS, faster_elsewhere, quad_stream

# Why rows of fw * C bytes that are not whole words are declined (vww01's and ic01's 3x3 RGB stems,
# K = 27), measured: padding K to 28 with a zero weight and copying each window's 3 rows of 9 bytes
# into a buffer (as words, into a 2-window gather before widen2_groups) ran ic01's layer 0 in 831,006
# est. cycles against 750,887 on conv.py's RGB rows read in place (qemu-mps2-an386, tinyrig profile):
# with 16 filters a pixel pair's copy, widening and call are spread over 4 quads only. vww01's would
# also need a bordered copy of 97x97x3 bytes, over PAD_COPY_MAX_BYTES.
_ROWS_NOT_WORDS = "window rows of {} bytes, not whole words"


def specialize_patch_quad(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_conv(p)
    fh, fw, channels, out_c = p["filter_h"], p["filter_w"], p["input_c"], p["output_c"]
    if fh == 1 and fw == 1:
        raise Declined("a 1x1 filter (pointwise kernels)")
    if channels % UNIT_DEPTH == 0:
        raise Declined("input channels in fours (band_quad, conv's band path)")
    if p["dilation_h"] != 1 or p["dilation_w"] != 1:
        raise Declined("dilation")
    if (fw * channels) % UNIT_DEPTH:
        raise Declined(_ROWS_NOT_WORDS.format(fw * channels))
    if out_c % QUAD_FILTERS:
        raise Declined(f"output channels not a multiple of {QUAD_FILTERS}")
    padded_h, padded_w = bordered_extent(p)
    if not (p["pad_top"] or p["pad_left"] or padded_h > p["input_h"] or padded_w > p["input_w"]):
        padded_h = padded_w = 0  # every window lies inside the input: read in place
    elif padded_h * padded_w * channels > PAD_COPY_MAX_BYTES:
        raise Declined(f"a bordered input copy of {padded_h * padded_w * channels} bytes "
                       f"(at most {PAD_COPY_MAX_BYTES})")
    depth = fh * fw * channels
    pixels = p["output_h"] * p["output_w"]
    reason = _slower_than_pairs(pixels, fh, depth, out_c)
    if reason:
        raise Declined(reason)
    rows = c["weights"].astype(np.int64).reshape(out_c, depth)  # OHWI: the window's (fy, fx, c) order
    stream = quad_stream(rows, p, c, out_c, depth)
    clamp = activation_clamps(p["activation_min"], p["activation_max"])
    params = [
        window_param(p), ("input_zero_point", p["input_zero_point"]), ("padded_h", padded_h),
        ("padded_w", padded_w), ("depth", depth), ("activation_min", p["activation_min"]),
        ("activation_max", p["activation_max"]), ("stream", _ref("stream")),
    ]
    # The 2 widened windows, a last odd pixel's outputs (both pixels' written), the bordered copy.
    scratch = QUAD_PIXELS * depth * 2 + round_up(QUAD_PIXELS * out_c, 4) + round_up(padded_h * padded_w * channels, 4)
    note = f"window rows widened for the 1x1 2x4 SMLAD block, int8 weights, depth {depth}"
    if padded_h:
        note += f", zero-point-bordered input copy {padded_h}x{padded_w}"
    return specialized_plan(plan, f"DspPatchQuadParams<{clamp}, {straight_units(depth)}>", params,
                            [int32_array("stream", stream)], scratch, note + ", 3-instruction requantisation")


def patch_quad_cycles(pixels: int, filter_h: int, depth: int, out_c: int) -> float:
    """Estimated M4 cycles of a layer on this kernel: the 1x1 kernel's (its widening of depth / 4
    groups a pixel pair included) plus about 1 cycle a window row for walking the rows."""
    return quad_cycles(pixels, depth, out_c, False) + -(-pixels // QUAD_PIXELS) * filter_h


def _slower_than_pairs(pixels: int, filter_h: int, depth: int, out_c: int) -> str | None:
    """Why conv.py's 3x2 block should run the layer (its columns path, 3 windows widened in place
    by widen3_rows: pointwise_quad.pairs_cycles' unstrided form), or None."""
    quad = patch_quad_cycles(pixels, filter_h, depth, out_c)
    return faster_elsewhere(quad, pairs_cycles(pixels, depth, out_c, False), "the 3x2 block")


register(dsp_kernel("conv2d_s8", "patch_quad", specialize_patch_quad, shared=("pointwise_quad",)), first=True)
