"""Portable SOFTMAX (tinyrig_ref_softmax.cc), as lowered: no specialise hook."""

from __future__ import annotations

from ..registry import register
from . import reference_kernel

register(reference_kernel("softmax_s8", "softmax"))
