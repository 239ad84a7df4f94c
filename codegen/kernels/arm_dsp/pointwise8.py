"""DSP-extension CONV_2D for 1x1 convolutions on exactly 8 input channels
(tinyrig_dsp_pointwise8.cc): vww01's second pointwise layer, 8 -> 16 channels at 48x48.

Such a layer has only 8 MACs per output, so what each output costs beside its 4 SMLADs
decides its speed. The kernel keeps one filter in registers (4 int16 weight words, bias,
M, rounding, shift) and sweeps it over a chunk of pixels widened once into scratch: an
output is then one LDM of the pixel, 4 SMLAD, the 4-instruction fused epilogue and one
STRB (15 cycles) where streaming each filter's 8-word record past a pixel held in
registers took 19 (the record's LDM alone 9). Registered before the general conv kernel;
a clamping activation is left to it (no register is free for the bounds).
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef as _ref, LayerPlan
from ..registry import Declined, register
from ..specialize_common import (SpecializedLayerPlan, constants_of, int32_array, params_of, require_plain_conv,
                                 specialized_plan)
from . import dsp_kernel
from .fused_epilogue import activation_clamps, epilogue_constants
from .smlad_layout import scaled_padded, sxtb16_order

DEPTH = 8  # input channels: one pixel is 4 widened words, one LDM
CHUNK_PIXELS = 128  # pixels widened per chunk (16 bytes of scratch each); tinyrig_dsp_pointwise8.cc kChunk
BLOCK_STRIDE = 16  # bytes per pixel of the run's output block (its widened pixel's stride); kBlockStride


def specialize_pointwise8(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_conv(p)
    if p["filter_h"] != 1 or p["filter_w"] != 1:
        raise Declined("not a 1x1 filter")
    if p["input_c"] != DEPTH:
        raise Declined(f"not {DEPTH} input channels")
    if p["pad_top"] or p["pad_left"]:
        raise Declined("padded 1x1")
    if activation_clamps(p["activation_min"], p["activation_max"]):
        raise Declined("a clamping activation (no register left for its bounds)")
    out_c = p["output_c"]
    rows = c["weights"].astype(np.int64).reshape(out_c, DEPTH)
    fused, bias, table = epilogue_constants(rows, p, c, out_c)  # declines what the epilogue cannot do exactly
    words = sxtb16_order(scaled_padded(rows, fused.scale_shift, out_c, DEPTH))
    # Per filter, in the order one LDM puts them in r0-r7: 4 weight words, bias, M, rounding, e.
    records = np.concatenate([words.astype(np.int64), bias.reshape(-1, 1), table.astype(np.int64)], axis=1)
    params = [
        ("output_h", p["output_h"]), ("output_w", p["output_w"]), ("output_c", out_c),
        ("input_w", p["input_w"]), ("stride_h", p["stride_h"]), ("stride_w", p["stride_w"]),
        ("records", _ref("records")),
    ]
    chunk = min(CHUNK_PIXELS, p["output_h"] * p["output_w"])
    # The widened chunk, and the output block it is written through unless out_c is the block's stride.
    scratch = chunk * 4 * 4 + (0 if out_c == BLOCK_STRIDE else chunk * BLOCK_STRIDE)
    return specialized_plan(plan, "DspPointwise8Params", params, [int32_array("records", records)], scratch,
                            "1x1 depth 8, one filter in registers over a widened chunk")


register(dsp_kernel("conv2d_s8", "pointwise8", specialize_pointwise8), first=True)
