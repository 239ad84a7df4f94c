"""Portable FULLY_CONNECTED (tinyrig_ref_fully_connected.cc), as lowered: no specialise hook."""

from __future__ import annotations

from ..registry import register
from . import reference_kernel

register(reference_kernel("fully_connected_s8", "fully_connected"))
