"""DSP-extension CONV_2D for 1x1 convolutions (tinyrig_dsp_pointwise_quad.cc): a register block
of 2 output pixels x 4 filters, tried before the general 3x2 block of conv.py.

A step of 2 input channels loads 2 int8 weight words (conv.py's pair words of the filters (a, b)
and (c, d)) and the 2 pixels' widened input words as one run of 4 single LDRs (5 cycles), then
4 SMLADs on the raw words, 2 SXTB16 and 4 SMLADs on the widened ones: 15 M4 cycles for 16 MACs
where the 3x2 block takes 24 for 24. The stream per quad of filters: [step][2] weight words, then
13 epilogue words (EPILOGUE_WORDS): 2 * bias_a, M_a, F_a, the output zero point, then
2 * bias, M, F of b, c and d, F = 2^(32 - e) + 1 (the 3-instruction requantisation).

Declined, for conv.py to run: padded 1x1, input or output channels not whole groups of 4, filters
with all-zero weights (conv.py's sparse pairs and live-filter wrapper skip them), a filter whose
requantisation is not exact in 3 instructions, a raw pair the int8 words cannot encode, 8 input
channels without a clamp (pointwise8.py's), and layers the M4 cycle estimate below says the
3x2 block runs in fewer cycles (few pixels or a shallow depth).
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef as _ref, LayerPlan
from ..registry import Declined, register
from ..specialize_common import (SpecializedLayerPlan, constants_of, int32_array, params_of, require_plain_conv,
                                 round_up, specialized_plan)
from . import dsp_kernel
from .fused_epilogue import activation_clamps
from .quad_stream import QUAD_FILTERS, faster_elsewhere, quad_stream

QUAD_PIXELS, UNIT_DEPTH = 2, 4  # pixels of the register block (QUAD_FILTERS filters); input channels per unit (2 steps)
# Units per pass of the assembly run: tinyrig_dsp_pointwise_quad.cc TINYRIG_QUAD_PASS_UNITS, in a
# build without and with a small flash instruction cache.
PASS_UNITS, SMALL_CACHE_PASS_UNITS = 16, 5
STRAIGHT_UNITS = PASS_UNITS + 1  # TINYRIG_QUAD_STRAIGHT_UNITS: depths (in units) with a straight run
POINTWISE8_DEPTH = 8  # pointwise8.py DEPTH


def specialize_pointwise_quad(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_conv(p)
    if p["filter_h"] != 1 or p["filter_w"] != 1:
        raise Declined("not a 1x1 filter")
    if p["pad_top"] or p["pad_left"]:
        raise Declined("padded 1x1")
    depth, out_c = p["input_c"], p["output_c"]
    if depth % UNIT_DEPTH:
        raise Declined(f"input channels not a multiple of {UNIT_DEPTH}")
    if out_c % QUAD_FILTERS:
        raise Declined(f"output channels not a multiple of {QUAD_FILTERS}")
    clamp = activation_clamps(p["activation_min"], p["activation_max"])
    if depth == POINTWISE8_DEPTH and not clamp:
        raise Declined(f"{POINTWISE8_DEPTH} input channels without a clamp: pointwise8's")
    pixels = p["output_h"] * p["output_w"]
    strided = p["stride_h"] != 1 or p["stride_w"] != 1
    reason = _slower_than_pairs(pixels, depth, out_c, strided)
    if reason:
        raise Declined(reason)
    rows = c["weights"].astype(np.int64).reshape(out_c, depth)
    stream = quad_stream(rows, p, c, out_c, depth)
    steps = depth // 2
    params = [
        ("output_h", p["output_h"]), ("output_w", p["output_w"]), ("output_c", out_c),
        ("input_w", p["input_w"]), ("input_c", depth), ("stride_h", p["stride_h"]), ("stride_w", p["stride_w"]),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("stream", _ref("stream")),
    ]
    # The 2 widened pixels, then a last odd pixel's outputs (both pixels' written).
    scratch = QUAD_PIXELS * steps * 4 + round_up(QUAD_PIXELS * out_c, 4)
    note = f"1x1 direct 2x4 SMLAD block, int8 weights, depth {depth}, 3-instruction requantisation"
    return specialized_plan(plan, f"DspPointwiseQuadParams<{clamp}, {straight_units(depth)}>", params,
                            [int32_array("stream", stream)], scratch, note)


def straight_units(depth: int) -> int:
    """DspPointwiseQuadParams' (and patch_quad.py's DspPatchQuadParams') kUnits: the depth in units
    where it has a straight run (no passes), else 0."""
    units = depth // UNIT_DEPTH
    return units if units <= STRAIGHT_UNITS else 0


def quad_cycles(pixels: int, depth: int, out_c: int, strided: bool) -> float:
    """Estimated M4 cycles of the 2x4 block over a layer (the build without a small flash cache),
    fitted to the cycle model's counts (kws01's 1x1 layers, vww01's 6 and ic01's 6): per pair of
    pixels the widening (13 a group of 4 channels) and the call (100, 115 with a stride), per quad
    15 a step and 75 around it in a straight run (epilogue, stores, the branch back); the run of
    any depth 81.5, 5 for the pass's end test and 8 a further pass."""
    units = depth // UNIT_DEPTH
    if units <= STRAIGHT_UNITS:
        around = 75.0
    else:
        around = 81.5 + 5 + 8 * (-(-(units - 1) // PASS_UNITS) - 1)
    per_quad = 15 * (depth // 2) + around
    return -(-pixels // QUAD_PIXELS) * (13 * units + (115 if strided else 100) + (out_c // QUAD_FILTERS) * per_quad)


def pairs_cycles(pixels: int, depth: int, out_c: int, strided: bool) -> float:
    """The same for conv.py's 3x2 block (tinyrig_dsp_conv.cc conv_run), fitted the same way: per
    run of 3 pixels the widening (17 a group) and the call (52; 224 with a stride, which takes
    the general per-run path), per pair 12 a step and 61.6 around it, 4 more for a pass's end
    test and 6 a further pass."""
    units = depth // UNIT_DEPTH
    passes = -(-(units - 1) // 16)
    per_pair = 12 * (depth // 2) + 61.6 + (4 + 6 * (passes - 1) if passes > 1 else 0)
    return -(-pixels // 3) * (17 * units + (224 if strided else 52) + (out_c // 2) * per_pair)


def _slower_than_pairs(pixels: int, depth: int, out_c: int, strided: bool) -> str | None:
    return faster_elsewhere(quad_cycles(pixels, depth, out_c, strided), pairs_cycles(pixels, depth, out_c, strided),
                            "the 3x2 block")


register(dsp_kernel("conv2d_s8", "pointwise_quad", specialize_pointwise_quad), first=True)
