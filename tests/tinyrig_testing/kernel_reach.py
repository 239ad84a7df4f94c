"""Which optimised kernels, and which of their paths, a set of models reached on a core.

A differential fuzzer only proves the kernels its models reach. The engine picks a kernel per
layer (codegen/kernels/registry.py: the variants of the core's families, specialised ones first,
each free to decline), so a generator whose shapes a kernel always declines leaves that kernel
untested without any failure. `ReachCounter` counts, per registered variant of the core's
families, the layers that ran on it, and lists the variants no layer reached with 0.

A kernel is named "<family>:<module>" after its specialiser (arm_dsp:pointwise_quad), since
several variants share one C++ function (conv2d_s8). Within a kernel, a path is the parameter
struct the specialiser chose (DspDepthwiseLineParams vs DspDepthwiseConv2DParams), plus the
requantisation form where the struct's template has one (kRq3: "rq3" for the 3-instruction form,
"shift" for the register shift; kUnits: "straight" for a run without passes, "passes"), and "live:"
in front when the live-filter wrapper runs it. The depthwise line kernel keeps its stride and form
out of its type; they are read from its note (LINE_NOTE): "s1"/"s2", then "rq3" or "shift" (some
channel requantised one at a time).
"""

from __future__ import annotations

import collections
import inspect
import re
from functools import cache

from tinyrig.codegen.engine import load_graph, lower_graph, specialize_layers
from tinyrig.codegen.kernels import discover_kernels, registry
from tinyrig.codegen.kernels.registry import CORE_FAMILIES, KernelVariant, kernel_file

_STRUCT = re.compile(r"(?:template\s*<([^>]*)>\s*)?struct\s+(\w+Params)\b")
_LIVE = re.compile(r"^LiveFiltersParams<(?:tinyrig::)?(.*)>$")
LINE_PARAMS = "DspDepthwiseLineParams"
# arm_dsp/depthwise.py _line_plan's note: "... stride 2 along 7-output lines, 3 of 8 channels
# requantised one at a time" (or "..., 3-instruction requantisation").
LINE_NOTE = re.compile(r"stride (\d) along .*?(one at a time|3-instruction requantisation)")
LINE_FORMS = [f" s{stride} {form}" for stride in (1, 2) for form in ("rq3", "shift")]
# Template parameters that choose a path, and their labels for a non-zero and a zero value.
TEMPLATE_FORMS = {"kRq3": ("rq3", "shift"), "kUnits": ("straight", "passes")}


def kernel_name(variant: KernelVariant) -> str:
    """"<family>:<specialiser module>", e.g. arm_dsp:band_quad."""
    return f"{variant.variant}:{variant.specialize.__module__.rsplit('.', 1)[-1]}"


def core_kernels(core: str) -> list[KernelVariant]:
    """Every optimised variant `core` can choose, by family (best first) and kernel id. Reads the
    registry's table as tests/codegen/kernels/test_kernel_registry.py does: there is no public
    listing, and the engine itself only ever asks for one kernel id at a time."""
    discover_kernels()
    families = CORE_FAMILIES.get(core, ())
    found = [variant for (_, family), variants in registry._REGISTRY.items() if family in families
             for variant in variants if variant.specialize is not None]
    return sorted(found, key=lambda v: (families.index(v.variant), kernel_name(v)))


@cache
def _header_structs(header: str) -> dict[str, tuple[str, ...]]:
    """The parameter structs a kernel header declares -> their template parameter names."""
    structs = {}
    for params, name in _STRUCT.findall(kernel_file(header)):
        structs[name] = tuple(part.split("=")[0].split()[-1] for part in params.split(",") if part.strip())
    return structs


def kernel_paths(variant: KernelVariant) -> list[str]:
    """The top-level paths of a kernel: its header's structs that its specialiser names (a struct
    only nested in another, like DspConv2DParams, is not a path), each with its requantisation forms."""
    source = inspect.getsource(inspect.getmodule(variant.specialize))
    paths = []
    for name, template in _header_structs(variant.header).items():
        if re.search(rf"\b{name}\b", source):
            forms = [""]
            for parameter, labels in TEMPLATE_FORMS.items():
                if parameter in template:
                    forms = [f"{form} {label}" for form in forms for label in labels]
            paths += [name + form for form in (LINE_FORMS if name == LINE_PARAMS else forms)]
    return paths


def path_of(variant: KernelVariant, params_type: str, note: str = "") -> str:
    """The path label of a specialised layer's parameter type (and note), e.g.
    "DspConvColumnsParams<0, 1, 2>" -> "DspConvColumnsParams rq3"."""
    live = _LIVE.match(params_type)
    inner = live.group(1) if live else params_type
    name, _, args = inner.partition("<")
    template = _header_structs(variant.header).get(name, ())
    label = name
    values = [arg.strip() for arg in args.rstrip(">").split(",")] if args else []
    for parameter, (nonzero, zero) in TEMPLATE_FORMS.items():
        if parameter in template and values:
            label += f" {zero if values[template.index(parameter)] == '0' else nonzero}"
    if name == LINE_PARAMS:
        found = LINE_NOTE.search(note)
        if not found:
            raise ValueError(f"{LINE_PARAMS} note no longer says its stride and form: {note!r}")
        label += f" s{found.group(1)} {'shift' if found.group(2) == 'one at a time' else 'rq3'}"
    return ("live:" if live else "") + label


def layer_kernels(model, core: str) -> list[tuple[str, str]]:
    """(kernel name, path) for each layer of `model` (.tflite bytes or path) that an optimised
    kernel runs on `core`, in layer order."""
    graph, _ = load_graph(model)
    plans, kernels, _ = specialize_layers(lower_graph(graph), core)
    return [(kernel_name(kernels[plan.index]), path_of(kernels[plan.index], plan.params_type, plan.note))
            for plan in plans if plan.index in kernels and kernels[plan.index].specialize is not None]


class ReachCounter:
    """Layers per kernel and per path over the models `add`ed, for one core."""

    def __init__(self, core: str):
        self.core = core
        self.kernels = {kernel_name(v): v for v in core_kernels(core)}
        self.layers: collections.Counter = collections.Counter()
        self.paths: collections.Counter = collections.Counter()
        self.last: list[tuple[str, str]] = []  # the kernels of the model added last, per layer

    def add(self, model) -> list[tuple[str, str]]:
        reached = self.last = layer_kernels(model, self.core)
        for kernel, path in reached:
            self.layers[kernel] += 1
            self.paths[kernel, path] += 1
        return reached

    def unreached(self) -> list[str]:
        """Kernels registered for the core that no layer ran on."""
        return [name for name in self.kernels if not self.layers[name]]

    def unreached_paths(self) -> list[str]:
        return [f"{name} {path}" for name, variant in self.kernels.items() for path in kernel_paths(variant)
                if not self.paths[name, path]]

    def report(self) -> str:
        """One line per kernel: its layers, then its paths' (0 where none reached them)."""
        width = max(map(len, self.kernels), default=0)
        lines = []
        for name, variant in self.kernels.items():
            paths = dict.fromkeys(kernel_paths(variant), 0)
            paths.update({path: count for (kernel, path), count in self.paths.items() if kernel == name})
            detail = ", ".join(f"{path} {count}" for path, count in paths.items())
            lines.append(f"  {name:<{width}} {self.layers[name]:4d}" + (f"   ({detail})" if detail else ""))
        return "\n".join(lines)
