"""DSP-extension AVERAGE_POOL_2D (tinyrig_dsp_pooling.cc): checks and registration.

The kernel takes the reference Pool2DParams as they are (tinyrig_ref_pooling.h); only
the window size is limited, by its int16 lane sums.
"""

from __future__ import annotations

from ...layer import LayerPlan
from ..registry import Declined, register
from ..specialize_common import SpecializedLayerPlan, params_of, specialized_plan
from . import dsp_kernel

POOL_MAX_WINDOW = 256  # int16 lanes: 256 * -128 is the most negative sum


def specialize_average_pool(plan: LayerPlan) -> SpecializedLayerPlan:
    """AVERAGE_POOL_2D (tinyrig_dsp_pooling.cc) keeps the reference parameters."""
    p = params_of(plan)
    if p["batches"] != 1:
        raise Declined("batch > 1")
    if p["filter_h"] * p["filter_w"] > POOL_MAX_WINDOW:
        raise Declined(f"a window of more than {POOL_MAX_WINDOW} values")
    return specialized_plan(plan, plan.params_type, list(plan.params), list(plan.constants), 0,
                            "SXTAB16 window sums, 16 channels per pass")


register(dsp_kernel("average_pool2d_s8", "pooling", specialize_average_pool))
