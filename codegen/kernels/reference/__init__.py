"""The "reference" family: portable C++ kernels, bit-exact with TensorFlow Lite Micro's
reference kernels, for every op the engine lowers.

They run the lowered plan as it is (no specialise hook, never declining), so they are
the fallback of every optimised variant and the kernels each variant is tested
against. Their parameter structs (tinyrig_ref_<op>.h) are the portable layout the
lowering (codegen/op_*.py) fills; optimised specialisers start from it.
"""

from __future__ import annotations

from ..registry import REFERENCE, KernelVariant

FAMILY = REFERENCE


def reference_kernel(kernel_id: str, op: str) -> KernelVariant:
    """The variant tinyrig::reference::<kernel_id> of tinyrig_ref_<op>.h / .cc."""
    return KernelVariant(
        kernel_id=kernel_id,
        variant=FAMILY,
        function=f"tinyrig::reference::{kernel_id}",
        header=f"reference/tinyrig_ref_{op}.h",
        sources=(f"reference/tinyrig_ref_{op}.cc",),
    )
