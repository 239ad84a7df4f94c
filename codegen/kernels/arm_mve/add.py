"""Helium ADD (tinyrig_mve_add.cc): rescaling tables and registration.

Same shapes only (broadcasting is declined): each input's TFLM rescaling of every
int8 value as a 256-entry int32 table in raw-byte order, read by gather loads.
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef, LayerPlan
from ..registry import Declined, register
from ..specialize_common import SpecializedLayerPlan, add_rescaled_inputs, int32_array, params_of, specialized_plan
from . import mve_kernel


def specialize_add(plan: LayerPlan) -> SpecializedLayerPlan:
    p = params_of(plan)
    dims = list(p["output_dims"])
    scaled = add_rescaled_inputs(p)
    if p["output_shift"] > 0 or p["output_shift"] < -31:
        raise Declined("the output shift is outside -31..0")
    tables = [np.roll(t, -128) for t in scaled]  # raw-byte order (0..255), as the gather loads index
    if sum(np.abs(t).max() for t in tables) >= 2**31:
        raise Declined("the rescaled sum may overflow int32")
    params = [
        ("size", int(np.prod(dims))),
        ("output_multiplier", p["output_multiplier"]), ("output_neg_shift", p["output_shift"]),
        ("output_offset", p["output_zero_point"]),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("table1", ConstantRef("table1")), ("table2", ConstantRef("table2")),
    ]
    # A constant operand's array (op_elementwise) stays; the kernel reads it as an input.
    constants = [*plan.constants, int32_array("table1", tables[0]), int32_array("table2", tables[1])]
    return specialized_plan(plan, "MveAddParams", params, constants, 0, "rescaling tables read by gather loads")


register(mve_kernel("add_s8", "add", specialize_add))
