"""Which C++ function implements a kernel on a given core, and which runtime files it needs.

Kernels are looked up by (kernel id, core). The portable "reference" variant exists
for every kernel; optimised variants are registered per instruction-set family
("arm_dsp": the Armv7E-M / Armv8-M DSP extension, "arm_mve": Helium) and a core
names the families it has, best first (`CORE_FAMILIES`). An optimised variant
carries a `specialize` hook that re-lays the layer's constants for its kernel and
may decline a layer it cannot run bit-exactly; the engine then tries the next
family and finally the reference kernel, which every other variant is tested
against.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Callable

from .specialize_common import Declined  # noqa: F401 (re-exported: variants raise it)

REFERENCE = "reference"


@dataclass(frozen=True)
class KernelVariant:
    kernel_id: str  # e.g. "conv2d_s8"
    variant: str  # "reference", later e.g. "cortex-m-dsp"
    function: str  # fully qualified C++ function
    header: str  # runtime header declaring it
    sources: tuple[str, ...]  # runtime sources implementing it (paths under runtime/)
    # LayerPlan -> specialised LayerPlan for this variant; raises `Declined` when the
    # variant cannot run the layer bit-exactly. None: the variant takes the plan as is.
    specialize: Callable | None = None


# Instruction-set families each core has, best first. Cortex-M55 has the DSP
# extension as well as Helium, so DSP kernels cover what Helium kernels decline.
CORE_FAMILIES: dict[str, tuple[str, ...]] = {
    "cortex-m4": ("arm_dsp",),
    "cortex-m7": ("arm_dsp",),
    "cortex-m33": ("arm_dsp",),
    "cortex-m35p": ("arm_dsp",),
    "cortex-m55": ("arm_mve", "arm_dsp"),
    "cortex-m85": ("arm_mve", "arm_dsp"),
}


# Runtime files every generated model includes, regardless of the kernels used.
FIXEDPOINT_HEADER = "tinyrig_fixedpoint.h"
PARAMS_HEADER = "tinyrig_kernel_params.h"  # the parameter structs the generated code fills
# Defines TINYRIG_LAYER_BEGIN/END as marker stores in profiling builds (TINYRIG_PROFILE=1).
PROFILE_HEADER = "tinyrig_profile.h"
COMMON_RUNTIME_FILES = (FIXEDPOINT_HEADER, PARAMS_HEADER, PROFILE_HEADER)

_REFERENCE_HEADER = "reference/tinyrig_ref_kernels.h"

# (kernel id, core or family) -> its variants, tried in this order.
_REGISTRY: dict[tuple[str, str], list[KernelVariant]] = {}


def register(variant: KernelVariant, core: str, *, first: bool = False) -> None:
    """Adds a variant for `core` (a core or an instruction-set family). A family may
    hold several variants of one kernel: a specialised one registered with `first`
    is tried before the general one, which takes what it declines."""
    variants = _REGISTRY.setdefault((variant.kernel_id, core), [])
    if first:
        variants.insert(0, variant)
    else:
        variants.append(variant)


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
    variants = _REGISTRY.get((kernel_id, core)) or _REGISTRY.get((kernel_id, REFERENCE))
    if not variants:
        raise KeyError(f"no kernel registered for {kernel_id}")
    return variants[0]


def candidate_kernels(kernel_id: str, core: str = REFERENCE) -> list[KernelVariant]:
    """Variants to try for `core`, best first; the reference kernel is always last."""
    keys = [core, *CORE_FAMILIES.get(core, ()), REFERENCE]
    found = [variant for key in dict.fromkeys(keys) for variant in _REGISTRY.get((kernel_id, key), ())]
    if not found:
        raise KeyError(f"no kernel registered for {kernel_id}")
    return found


def runtime_file(path: str) -> str:
    """Text of a runtime file shipped in the package (path relative to runtime/)."""
    return resources.files(__package__).joinpath("runtime", *path.split("/")).read_text(encoding="utf-8")


def runtime_file_name(path: str) -> str:
    """Generated projects are flat: runtime files lose their folder."""
    return path.rsplit("/", 1)[-1]


# Optimised variants register themselves (after the reference ones they fall back to).
from . import specialize_dsp, specialize_dsp_depthwise, specialize_mve, specialize_mve_conv_window, specialize_mve_depthwise  # noqa: E402,F401,E501
