"""The "arm_mve" family: Helium (M-profile Vector Extension) kernels for Cortex-M55 and
Cortex-M85; on those cores the "arm_dsp" family takes what these decline.

Weights stay int8 for VMLADAVA.S8 (16 int8 products into a scalar accumulator per
instruction), interleaved as the assembly blocks load them and zero-padded to whole
16-byte vectors and 4-channel quads (the ring depthwise path pre-widens them to
int32 lanes). The epilogue is TFLM's own double-rounding requantisation on 4 lanes
(requant.py, tinyrig_mve_common.h).

One module per op (conv, conv_window, depthwise, fully_connected, add, pooling)
beside its tinyrig_mve_<op>.h / .cc; FULLY_CONNECTED runs on the conv kernel.
"""

from __future__ import annotations

from typing import Callable

from ..registry import KernelVariant

FAMILY = "arm_mve"
VECTOR, QUAD = 16, 4  # bytes of a Helium vector; channels of an int32 vector


def mve_kernel(kernel_id: str, op: str, specialize: Callable, *, function: str | None = None,
               extra_sources: tuple[str, ...] = ()) -> KernelVariant:
    """The variant tinyrig::arm_mve::<function or kernel_id> of tinyrig_mve_<op>.h / .cc."""
    return KernelVariant(
        kernel_id=kernel_id,
        variant=FAMILY,
        function=f"tinyrig::arm_mve::{function or kernel_id}",
        header=f"arm_mve/tinyrig_mve_{op}.h",
        sources=(*extra_sources, f"arm_mve/tinyrig_mve_{op}.cc"),
        specialize=specialize,
    )
