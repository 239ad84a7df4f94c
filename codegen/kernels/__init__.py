"""The kernels room: every kernel's specialiser beside its C++ source, by family and op.

    kernels/
      registry.py            KernelVariant, register(), lookups (imports no kernel)
      specialize_common.py   helpers shared by the optimised families
      tinyrig_fixedpoint.h   TFLM's integer arithmetic, shared by the C++ of all families
      <family>/              reference, arm_dsp, arm_mve
        __init__.py          what the family is; its shared runtime files
        <op>.py              specialiser + registration of the op's variant(s)
        tinyrig_<f>_<op>.h   the op's parameter struct(s) and entry point(s)
        tinyrig_<f>_<op>.cc  the op's kernel

`discover_kernels()` imports every module of every family package once; each kernel
module registers its variants with `registry.register` as it is imported. A new
family or op is found without editing any list (docs/kernels.md).
"""

from __future__ import annotations

import importlib
import pkgutil

_discovered = False


def discover_kernels() -> None:
    """Imports every family package under codegen/kernels and each of its modules, once."""
    global _discovered
    if _discovered:
        return
    for family in sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name):
        if not family.ispkg:
            continue
        package = importlib.import_module(f"{__name__}.{family.name}")
        for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda module: module.name):
            importlib.import_module(f"{package.__name__}.{module.name}")
    _discovered = True
