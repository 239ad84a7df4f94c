"""Which C++ function implements a kernel on a given core, and which runtime files it needs.

Kernels are looked up by (kernel id, core). Only the portable "reference" variant
exists today; a board can later register e.g. ("conv2d_s8", "cortex-m4") with a
CMSIS-style SMLAD implementation, and `select_kernel` falls back to the reference
kernel for anything a core lacks. The reference kernels stay the ones every other
variant is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

REFERENCE = "reference"


@dataclass(frozen=True)
class KernelVariant:
    kernel_id: str  # e.g. "conv2d_s8"
    variant: str  # "reference", later e.g. "cortex-m-dsp"
    function: str  # fully qualified C++ function
    header: str  # runtime header declaring it
    sources: tuple[str, ...]  # runtime sources implementing it (paths under runtime/)


# Runtime files every generated model includes, regardless of the kernels used.
FIXEDPOINT_HEADER = "tinyrig_fixedpoint.h"
PARAMS_HEADER = "tinyrig_kernel_params.h"  # the parameter structs the generated code fills
COMMON_RUNTIME_FILES = (FIXEDPOINT_HEADER, PARAMS_HEADER)

_REFERENCE_HEADER = "reference/tinyrig_ref_kernels.h"

_REGISTRY: dict[tuple[str, str], KernelVariant] = {}


def register(variant: KernelVariant, core: str) -> None:
    _REGISTRY[(variant.kernel_id, core)] = variant


def _register_reference(kernel_id: str, source: str) -> None:
    register(
        KernelVariant(
            kernel_id=kernel_id,
            variant=REFERENCE,
            function=f"tinyrig::reference::{kernel_id}",
            header=_REFERENCE_HEADER,
            sources=(f"reference/{source}",),
        ),
        REFERENCE,
    )


for _kernel_id, _source in (
    ("conv2d_s8", "tinyrig_ref_conv.cc"),
    ("depthwise_conv2d_s8", "tinyrig_ref_conv.cc"),
    ("fully_connected_s8", "tinyrig_ref_fully_connected.cc"),
    ("add_s8", "tinyrig_ref_add.cc"),
    ("average_pool2d_s8", "tinyrig_ref_pooling.cc"),
    ("max_pool2d_s8", "tinyrig_ref_pooling.cc"),
    ("softmax_s8", "tinyrig_ref_softmax.cc"),
    ("quantize_f32_s8", "tinyrig_ref_quantize.cc"),
    ("requantize_s8", "tinyrig_ref_quantize.cc"),
    ("dequantize_s8_f32", "tinyrig_ref_quantize.cc"),
):
    _register_reference(_kernel_id, _source)


def select_kernel(kernel_id: str, core: str = REFERENCE) -> KernelVariant:
    """The variant registered for `core`, else the portable reference kernel."""
    variant = _REGISTRY.get((kernel_id, core)) or _REGISTRY.get((kernel_id, REFERENCE))
    if variant is None:
        raise KeyError(f"no kernel registered for {kernel_id}")
    return variant


def runtime_file(path: str) -> str:
    """Text of a runtime file shipped in the package (path relative to runtime/)."""
    return resources.files(__package__).joinpath("runtime", *path.split("/")).read_text(encoding="utf-8")


def runtime_file_name(path: str) -> str:
    """Generated projects are flat: runtime files lose their folder."""
    return path.rsplit("/", 1)[-1]
