"""Helium FULLY_CONNECTED: a 1x1 convolution over a 1 x batches image, run by the conv
kernel (tinyrig_mve_conv.cc, `fully_connected_s8`) on conv.py's weight layout.
"""

from __future__ import annotations

import numpy as np

from ...layer import LayerPlan
from ..registry import register
from ..specialize_common import SpecializedLayerPlan, constants_of, params_of
from . import mve_kernel
from .conv import conv_layer


def specialize_fully_connected(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    depth, outputs = p["accum_depth"], p["output_depth"]
    rows = c["weights"].astype(np.int64).reshape(outputs, depth)
    # A 1x1 convolution over a 1 x batches image of `depth` channels.
    shape = dict(input_h=1, input_w=p["batches"], input_c=depth, output_h=1, output_w=p["batches"],
                 output_c=outputs, filter_h=1, filter_w=1, stride_h=1, stride_w=1, dilation_h=1, dilation_w=1,
                 pad_top=0, pad_left=0, input_zero_point=0)
    return conv_layer(plan, rows, c, shape, " (fully connected)")


register(mve_kernel("fully_connected_s8", "conv", specialize_fully_connected))
