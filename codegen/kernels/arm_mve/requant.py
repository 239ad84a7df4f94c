"""The Helium kernels' requantisation constants.

The epilogue is TFLM's own double-rounding requantisation done on 4 lanes
(VQRDMULH, a sign fix-up and VRSHL; see tinyrig_mve_common.h), from a per-quad
table [bias (input zero point folded in), multiplier, -right shift, left shift][4].
Its fast form needs right shifts of 1..31 and no left shift (an output scale
smaller than half the input x weight scale); CONV_2D and FULLY_CONNECTED layers
with other shifts use a form with 2 more instructions per 4 outputs, the
depthwise kernel declines them (they run on the DSP or reference kernel).
"""

from __future__ import annotations

import numpy as np

from ..registry import Declined
from ..specialize_common import per_channel, round_up
from . import QUAD


def requant_table(bias: np.ndarray, multipliers: np.ndarray, shifts: np.ndarray, channels: int, *,
                  left_shifts: bool = False) -> np.ndarray:
    """[quads, 3 or 4, 4] int32: bias, multiplier, -right shift (and left shift) of each
    channel of a quad. Without `left_shifts` the kernel's epilogue needs right shifts
    of 1..31 (the fast form) and other layers are declined.

    Padded channels get a harmless entry; their outputs are never stored."""
    shifts = per_channel(shifts, channels)
    mults = per_channel(multipliers, channels)
    if np.any(shifts > 31) or np.any(shifts < -31):
        raise Declined("a requantisation shift is outside -31..31")
    if not left_shifts and np.any(shifts > -1):
        raise Declined("a requantisation shift is outside -31..-1 (the fast vector epilogue needs a right shift)")
    if np.any(mults < 0):
        raise Declined("a negative requantisation multiplier")
    padded = round_up(channels, QUAD)
    rows = 4 if left_shifts else 3
    table = np.zeros((rows, padded), dtype=np.int64)
    table[1], table[2] = 2**30, -1
    table[0, :channels] = np.asarray(bias, dtype=np.int64).reshape(-1)
    table[1, :channels], table[2, :channels] = mults, np.minimum(shifts, 0)
    if left_shifts:
        table[3, :channels] = np.maximum(shifts, 0)
    return table.reshape(rows, padded // QUAD, QUAD).transpose(1, 0, 2)


def output_params(p: dict) -> list:
    return [("output_offset", p["output_zero_point"]),
            ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"])]
