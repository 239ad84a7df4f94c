"""Portable CONV_2D and DEPTHWISE_CONV_2D (tinyrig_ref_conv.cc), as lowered: no specialise hook."""

from __future__ import annotations

from ..registry import register
from . import reference_kernel

for _kernel_id in ("conv2d_s8", "depthwise_conv2d_s8"):
    register(reference_kernel(_kernel_id, "conv"))
