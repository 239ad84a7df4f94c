"""Portable ADD (with 4-D broadcasting) (tinyrig_ref_add.cc), as lowered: no specialise hook."""

from __future__ import annotations

from ..registry import register
from . import reference_kernel

register(reference_kernel("add_s8", "add"))
