"""Which C++ function implements a kernel on a given core, and which files it needs.

Kernel modules (codegen/kernels/<family>/<op>.py) import this module and `register`
their variants when they are imported; `tinyrig.codegen.kernels.discover_kernels()`
imports them all, once, before the engine looks anything up. This module imports no
kernel module, so there is no import circle.

Kernels are looked up by (kernel id, core). The portable "reference" variant exists
for every kernel; optimised variants are registered per instruction-set family
("arm_dsp": the Armv7E-M / Armv8-M DSP extension, "arm_mve": Helium) and a core
names the families it has, best first (`CORE_FAMILIES`). An optimised variant
carries a `specialize` hook that re-lays the layer's constants for its kernel and
raises `Declined` for a layer it cannot run bit-exactly; the engine then tries the
next variant and finally the reference kernel, which every other variant is tested
against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Callable

REFERENCE = "reference"


class Declined(Exception):
    """An optimised variant cannot run this layer (shape or arithmetic out of its range)."""


@dataclass(frozen=True)
class KernelVariant:
    kernel_id: str  # e.g. "conv2d_s8"
    variant: str  # the family: "reference", "arm_dsp", "arm_mve"
    function: str  # fully qualified C++ function
    header: str  # header declaring the function and its parameter struct (path under kernels/)
    sources: tuple[str, ...]  # the .cc files it needs; headers they include are found (kernel_files)
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

# (kernel id, family) -> its variants, tried in this order.
_REGISTRY: dict[tuple[str, str], list[KernelVariant]] = {}
# (kernel id, family) -> how many of its variants (the first ones) were registered with `first`.
_SPECIALISED: dict[tuple[str, str], int] = {}


def register(variant: KernelVariant, *, first: bool = False) -> None:
    """Adds a variant to its family. A family may hold several variants of one kernel:
    a specialised one registered with `first` is tried before the general ones, which
    take what it declines. Specialised variants of one kernel take disjoint layers and are
    kept in the order of their headers, so which module happened to be imported first
    (discovery, or a test importing one directly) never changes the order."""
    key = (variant.kernel_id, variant.variant)
    variants = _REGISTRY.setdefault(key, [])
    if variant in variants:  # a module imported twice registers nothing new
        return
    if first:
        count = _SPECIALISED.get(key, 0)
        variants[:count] = sorted([*variants[:count], variant], key=lambda v: v.header)
        _SPECIALISED[key] = count + 1
    else:
        variants.append(variant)


def _require_registered(kernel_id: str, found) -> None:
    if found:
        return
    if not _REGISTRY:
        raise KeyError("no kernels registered: call tinyrig.codegen.kernels.discover_kernels() first")
    raise KeyError(f"no kernel registered for {kernel_id}")


def select_kernel(kernel_id: str, core: str = REFERENCE) -> KernelVariant:
    """The first variant registered for `core` (a core or a family), else the reference kernel."""
    variants = _REGISTRY.get((kernel_id, core)) or _REGISTRY.get((kernel_id, REFERENCE))
    _require_registered(kernel_id, variants)
    return variants[0]


def candidate_kernels(kernel_id: str, core: str = REFERENCE) -> list[KernelVariant]:
    """Variants to try for `core`, best first; the reference kernel is always last."""
    keys = [core, *CORE_FAMILIES.get(core, ()), REFERENCE]
    found = [variant for key in dict.fromkeys(keys) for variant in _REGISTRY.get((kernel_id, key), ())]
    _require_registered(kernel_id, found)
    return found


def kernel_file(path: str) -> str:
    """Text of a kernel file shipped in the package (path relative to codegen/kernels/)."""
    return resources.files(__package__).joinpath(*path.split("/")).read_text(encoding="utf-8")


_LOCAL_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"', re.M)


@cache
def kernel_paths() -> dict[str, str]:
    """Every C++ file under codegen/kernels/ by its flat name (-> path under kernels/).
    Generated projects are flat, so two files with one name would be an error."""
    paths: dict[str, str] = {}

    def walk(folder, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith((".h", ".cc")):
                if entry.name in paths:
                    raise RuntimeError(f"kernel file name {entry.name} is used twice: {paths[entry.name]}, "
                                       f"{prefix}{entry.name}")
                paths[entry.name] = prefix + entry.name

    walk(resources.files(__package__), "")
    return paths


def kernel_files(variant: KernelVariant) -> list[str]:
    """The variant's header and sources and every kernel header they include, directly
    or not (paths under kernels/; `#include "x.h"` names a file by its flat name)."""
    known = kernel_paths()
    files, pending = [], [variant.header, *variant.sources]
    while pending:
        path = pending.pop(0)
        if path in files:
            continue
        files.append(path)
        for name in _LOCAL_INCLUDE.findall(kernel_file(path)):
            if name not in known:
                raise KeyError(f"{path} includes \"{name}\", which is no kernel file")
            pending.append(known[name])
    return files


def flat_file_name(path: str) -> str:
    """Generated projects are flat: kernel files lose their folder (their names are unique)."""
    return path.rsplit("/", 1)[-1]
