"""The "arm_dsp" family: kernels for the Armv7E-M / Armv8-M DSP extension (Cortex-M4, M7,
M33, M35P, and Cortex-M55 / M85 where a Helium kernel declines).

They multiply with SMLAD (two 16x16 products per instruction) on weights laid out by
the host in the order the kernel loads them (smlad_layout.py; int8 in flash, widened on
the fly), and requantise with a fused epilogue (fused_epilogue.py) checked per channel
against TFLM's arithmetic. Channel and depth counts are padded with zero weights to the
block sizes; padded outputs are computed and discarded.

One module per op (conv, depthwise, fully_connected, add, pooling, ...) beside its
tinyrig_dsp_<op>.h / .cc, each with its own assembly loops; tinyrig_dsp_common.h (the
SIMD instructions and the epilogue) is shared.
"""

from __future__ import annotations

from typing import Callable

from ..registry import KernelVariant

FAMILY = "arm_dsp"


def dsp_kernel(kernel_id: str, op: str, specialize: Callable, shared: tuple[str, ...] = ()) -> KernelVariant:
    """The variant tinyrig::arm_dsp::<kernel_id> of tinyrig_dsp_<op>.h / .cc; `shared`: the
    sources of code it shares with other kernels (tinyrig_dsp_<name>.cc), built once per model."""
    return KernelVariant(
        kernel_id=kernel_id,
        variant=FAMILY,
        function=f"tinyrig::arm_dsp::{kernel_id}",
        header=f"arm_dsp/tinyrig_dsp_{op}.h",
        sources=(f"arm_dsp/tinyrig_dsp_{op}.cc", *(f"arm_dsp/tinyrig_dsp_{name}.cc" for name in shared)),
        specialize=specialize,
    )
