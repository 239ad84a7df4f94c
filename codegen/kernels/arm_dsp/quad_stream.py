"""The constant stream of a 2-pixel x 4-filter block, shared by pointwise_quad.py (1x1),
band_quad.py (2-D windows read from a band) and patch_quad.py (windows widened as deep pixels): per
quad of filters [step][2] int8 pair words (conv.py's (a0, b0 - [a0 < 0], a1, b1 - [a1 < 0]) for the
pairs (a, b) and (c, d)), then EPILOGUE_WORDS words in the order one LDM of
tinyrig_dsp_quad_epilogue.h's epilogue takes them; and the cost test all three decline by."""

from __future__ import annotations

import numpy as np

from ..registry import Declined
from .fused_epilogue import halved_epilogue_constants, three_instruction_exact
from .smlad_layout import int8_pair_words, raw_pair_encodable

QUAD_FILTERS = 4
EPILOGUE_WORDS = 13  # tinyrig_dsp_pointwise_quad.cc / tinyrig_dsp_band_quad.cc kEpilogueWords


def faster_elsewhere(quad_cycles: float, other_cycles: float, other: str) -> str | None:
    """The reason a 2x4-block kernel declines a layer whose estimated M4 cycles are no fewer than
    `other`'s (the 3x2 block conv.py would run it on), or None."""
    if quad_cycles >= other_cycles:
        return f"{other} is estimated faster ({other_cycles:.0f} against {quad_cycles:.0f} M4 cycles)"
    return None


def quad_stream(rows: np.ndarray, p: dict, c: dict, out_c: int, depth: int) -> np.ndarray:
    """[quads, 2 * steps + EPILOGUE_WORDS] int64 words for the filters' `rows` ([out_c, depth] in the
    order the kernel reads its inputs), or Declined where the block cannot run them exactly: all-zero
    filters (conv.py skips them), a requantisation not exact in 3 instructions, a raw pair the int8
    words cannot encode."""
    epilogue = halved_epilogue_constants(rows, p, c, out_c)  # declines what the epilogue cannot do exactly
    constant = np.asarray(epilogue.fused.constant, dtype=bool)
    if constant.any():
        raise Declined(f"{int(constant.sum())} filters with all-zero weights (conv.py skips them)")
    if not np.all(three_instruction_exact(rows, c["folded_bias"], epilogue.fused)):
        raise Declined("a filter's requantisation is not exact in 3 instructions")
    scaled = epilogue.scaled_weights(rows, out_c, depth)  # int8, times 2^ls
    reason = raw_pair_encodable(scaled)
    if reason:
        raise Declined(reason)
    quads, steps = out_c // QUAD_FILTERS, depth // 2
    # [pair][step] -> per quad [step][pair]: one step's 2 words side by side.
    words = int8_pair_words(scaled).reshape(quads, 2, steps).transpose(0, 2, 1).reshape(quads, 2 * steps)
    return np.concatenate([words.astype(np.int64), _epilogue_words(epilogue, p["output_zero_point"], quads)], axis=1)


def _epilogue_words(epilogue, zero_point: int, quads: int) -> np.ndarray:
    """[quads, EPILOGUE_WORDS] (the epilogue's LDM order): filter a's doubled bias (times 2^(ls+1)), M
    and F = 2^(32 - e) + 1, the output zero point, then the same 3 words of b, c and d."""
    table = epilogue.table.astype(np.int64)
    filters = QUAD_FILTERS * quads
    per_filter = np.stack([2 * epilogue.bias[:filters], table[:filters, 0], (1 << (32 - table[:filters, 2])) + 1],
                          axis=1).reshape(quads, QUAD_FILTERS, 3)
    words = np.zeros((quads, EPILOGUE_WORDS), dtype=np.int64)
    words[:, 0:3] = per_filter[:, 0]
    words[:, 3] = zero_point
    words[:, 4:] = per_filter[:, 1:].reshape(quads, 9)
    return np.where(words >= 2**31, words - 2**32, words)  # F = 2^31 + 1 (e = 1) never passes three_instruction_exact
