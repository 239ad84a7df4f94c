"""DSP-extension ADD (tinyrig_dsp_add.cc): rescaling tables and registration.

Same shapes only (broadcasting is declined). Each input's rescaling depends on one
int8 value, so it is a 256-entry int32 table; the sum goes through the fused epilogue.
Checked here against TFLM's arithmetic for all 65,536 input pairs.
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef as _ref, LayerPlan
from ..registry import Declined, register
from ..specialize_common import (SpecializedLayerPlan, add_rescaled_inputs, int32_array, params_of, specialized_plan,
                                 tflm_mbqm_array)
from . import dsp_kernel
from .fused_epilogue import activation_clamps, fused_epilogue_array


def specialize_add(plan: LayerPlan) -> SpecializedLayerPlan:
    p = params_of(plan)
    dims = list(p["output_dims"])
    scaled = add_rescaled_inputs(p)
    sums = scaled[0][:, None] + scaled[1][None, :]  # every (input1, input2) pair
    if np.abs(sums).max() >= 2**31:
        raise Declined("the rescaled sum may overflow int32")
    expected = np.clip(tflm_mbqm_array(sums, p["output_multiplier"], p["output_shift"]) + p["output_zero_point"],
                       p["activation_min"], p["activation_max"])
    # Fused epilogue of the output rescaling (fused_epilogue.py): the tables carry 2^(ls+1).
    left, right = max(p["output_shift"], 0), max(-p["output_shift"], 0)
    if not 1 <= right <= 30:
        raise Declined("the output right shift is outside 1..30")
    tables = [t << (left + 1) for t in scaled]
    if sum(np.abs(t).max() for t in tables) >= 2**31:
        raise Declined("the scaled sum may overflow int32")
    rq = (p["output_multiplier"], (1 << (right - 1)) + p["output_zero_point"] * (1 << right), right)
    fused = np.clip(fused_epilogue_array(tables[0][:, None] + tables[1][None, :], rq),
                    p["activation_min"], p["activation_max"])
    if not np.array_equal(fused, expected):
        raise Declined("the fused epilogue differs from TFLM for some input pair")
    params = [
        ("size", int(np.prod(dims))),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("table1", _ref("table1")), ("table2", _ref("table2")), ("requant", _ref("requant")),
    ]
    # A constant operand's array (op_elementwise) stays; the kernel reads it as an input.
    constants = [*plan.constants, int32_array("table1", tables[0]), int32_array("table2", tables[1]),
                 int32_array("requant", np.array(rq))]
    # The right shift and the clamp are template arguments: the assembly loop's immediates.
    params_type = f"DspAddParams<{right}, {activation_clamps(p['activation_min'], p['activation_max'])}>"
    return specialized_plan(plan, params_type, params, constants, 0, "rescaling tables + fused epilogue")


register(dsp_kernel("add_s8", "add", specialize_add))
