"""DSP-extension FULLY_CONNECTED (tinyrig_dsp_fully_connected.cc): weight re-layout and
registration.

A 1 x 4-output block (batch 1 has no pixel reuse): per group of 4 inputs, one LDM of
2 input words and two LDMs of 4 weight words feed 8 SMLADs. Layout: [output quad]
[input group][A/B half][output of the quad], int16 pairs in SXTB16 order, scaled for
the fused epilogue.
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef as _ref, LayerPlan
from ..registry import register
from ..specialize_common import SpecializedLayerPlan, constants_of, int32_array, params_of, round_up, specialized_plan
from . import dsp_kernel
from .fused_epilogue import activation_clamps, epilogue_constants
from .smlad_layout import scaled_padded, sxtb16_order

FC_OUTPUTS, FC_DEPTH_STEP = 4, 16


def specialize_fully_connected(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    depth, outputs = p["accum_depth"], p["output_depth"]
    rows = c["weights"].astype(np.int64).reshape(outputs, depth)
    depth_p = round_up(depth, FC_DEPTH_STEP)
    out_p = round_up(outputs, FC_OUTPUTS)
    fused, bias, table = epilogue_constants(rows, p, c, out_p)
    words = sxtb16_order(scaled_padded(rows, fused.scale_shift, out_p, depth_p))
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


register(dsp_kernel("fully_connected_s8", "fully_connected", specialize_fully_connected))
