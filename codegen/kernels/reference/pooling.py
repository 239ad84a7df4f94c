"""Portable AVERAGE_POOL_2D and MAX_POOL_2D (tinyrig_ref_pooling.cc), as lowered: no specialise hook."""

from __future__ import annotations

from ..registry import register
from . import reference_kernel

for _kernel_id in ("average_pool2d_s8", "max_pool2d_s8"):
    register(reference_kernel(_kernel_id, "pooling"))
