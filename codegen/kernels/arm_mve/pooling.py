"""Helium AVERAGE_POOL_2D (tinyrig_mve_pooling.cc): reciprocal table and registration.

A table of reciprocals, one per window size, each checked here to divide exactly for
every sum the window can reach.
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef, LayerPlan, window_param
from ..registry import Declined, register
from ..specialize_common import SpecializedLayerPlan, int32_array, params_of, specialized_plan
from . import mve_kernel

POOL_MAX_WINDOW = 4096  # reciprocal table entries


def exact_reciprocal(count: int) -> int:
    """r with (n * r) >> 32 == n // count for every n an int8 window of `count` values
    can give TFLM's rounding division (0 <= n <= 128 * count + count // 2); 0 for 1."""
    if count <= 1:
        return 0
    r = -(-(2**32) // count)
    n = np.arange(128 * count + count // 2 + 1, dtype=np.uint64)
    if not np.array_equal((n * np.uint64(r)) >> np.uint64(32), n // np.uint64(count)):
        raise Declined(f"no exact 32-bit reciprocal for a window of {count}")
    return r


def specialize_average_pool(plan: LayerPlan) -> SpecializedLayerPlan:
    p = params_of(plan)
    if p["batches"] != 1:
        raise Declined("batch > 1")
    window = p["filter_h"] * p["filter_w"]
    if window > POOL_MAX_WINDOW:
        raise Declined(f"a window of more than {POOL_MAX_WINDOW} values")
    reciprocals = np.array([exact_reciprocal(count) for count in range(window + 1)], dtype=np.int64)
    reciprocals = np.where(reciprocals >= 2**31, reciprocals - 2**32, reciprocals)  # stored as int32 bits
    params = [
        window_param(p), ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("reciprocals", ConstantRef("reciprocals")),
    ]
    return specialized_plan(plan, "MveAveragePool2DParams", params, [int32_array("reciprocals", reciprocals)], 0,
                            "VLDRB.S32 sums, reciprocal division")


register(mve_kernel("average_pool2d_s8", "pooling", specialize_average_pool))
