"""Portable QUANTIZE (float32 -> int8, int8 -> int8) and DEQUANTIZE (tinyrig_ref_quantize.cc),
as lowered: no specialise hook."""

from __future__ import annotations

from ..registry import register
from . import reference_kernel

for _kernel_id in ("quantize_f32_s8", "requantize_s8", "dequantize_s8_f32"):
    register(reference_kernel(_kernel_id, "quantize"))
