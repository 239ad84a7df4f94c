"""Ahead-of-time compilation of a .tflite model into a self-contained C++ project.

    compiled = compile_model("model.tflite")
    compiled.write("build/model")  # tinyrig_model.h/.cc + the kernel runtime files

The generated API (tinyrig_model.h) is documented in `emit.py`; outputs are
bit-exact with TensorFlow Lite Micro's reference kernels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .emit import PROFILE_HEADER, ModelEmitter, TensorInfo, profile_header, tensor_info
from .errors import UnsupportedModelError
from .ir import Graph
from .kernels import discover_kernels
from .kernels.registry import (REFERENCE, Declined, KernelVariant, candidate_kernels, flat_file_name, kernel_file,
                               kernel_files)
from .layer import LayerPlan
from .layers import lower_graph
from .planner import MemoryPlan, plan_memory
from .tflite_reader import read_tflite

MODEL_IO_DTYPES = ("int8", "float32")


@dataclass(frozen=True)
class LayerInfo:
    index: int
    op: str
    input_shapes: list[tuple[int, ...]]
    output_shapes: list[tuple[int, ...]]
    macs: int
    param_bytes: int
    kernel: str | None  # C++ function, None for layers that run no code (RESHAPE)
    variant: str | None
    scratch_bytes: int = 0  # scratch RAM the layer's kernel uses (shared across layers)
    note: str = ""  # how the kernel was specialised, or why an optimised variant declined


@dataclass
class CompiledModel:
    files: dict[str, str]  # flat relative file name -> text
    arena_bytes: int
    arena_lower_bound: int
    total_macs: int
    weight_bytes: int  # constant bytes placed in flash, precomputed arrays included
    layers: list[LayerInfo]
    input: TensorInfo
    output: TensorInfo
    memory: MemoryPlan = field(repr=False)
    core: str = REFERENCE
    # RAM beside the arena: one buffer shared by the layers' kernels (largest need).
    scratch_bytes: int = 0
    # The same constants in the portable kernels' layout; weight_bytes minus this is the
    # flash that re-laid (pre-widened, padded) weights cost.
    reference_weight_bytes: int = 0

    @property
    def flash_growth_bytes(self) -> int:
        return self.weight_bytes - self.reference_weight_bytes

    def write(self, directory: str | os.PathLike) -> list[Path]:
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in sorted(self.files.items()):
            path = target / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
        return written


def load_graph(model: str | os.PathLike | bytes | bytearray | Graph) -> tuple[Graph, str]:
    """A graph plus a short name for comments in generated files."""
    if isinstance(model, Graph):
        return model, "an in-memory graph"
    if isinstance(model, (bytes, bytearray, memoryview)):
        return read_tflite(model), "a .tflite buffer"
    return read_tflite(model), Path(model).name


def check_model_interface(graph: Graph) -> None:
    if len(graph.inputs) != 1:
        raise UnsupportedModelError(f"{len(graph.inputs)} graph inputs; the generated API takes exactly one")
    if len(graph.outputs) != 1:
        raise UnsupportedModelError(f"{len(graph.outputs)} graph outputs; the generated API returns exactly one")
    for role, index in (("input", graph.inputs[0]), ("output", graph.outputs[0])):
        tensor = graph.tensor(index)
        if tensor.dtype not in MODEL_IO_DTYPES:
            raise UnsupportedModelError(f"graph {role} '{tensor.name}' is {tensor.dtype}; only int8 or float32")
        if tensor.is_constant:
            raise UnsupportedModelError(f"graph {role} '{tensor.name}' is a constant")
    if not graph.operators:
        raise UnsupportedModelError("the graph has no operators")


def compile_model(model: str | os.PathLike | bytes | bytearray | Graph, core: str = REFERENCE) -> CompiledModel:
    """Compile a model (path, .tflite bytes or IR graph) for `core`'s kernel variants."""
    graph, source_name = load_graph(model)
    check_model_interface(graph)
    portable = lower_graph(graph)
    layers, kernels, notes = specialize_layers(portable, core)
    memory = plan_memory(graph, layers)
    emitter = ModelEmitter(graph, layers, kernels, memory, source_name)

    files = {"tinyrig_model.h": emitter.header(), "tinyrig_model.cc": emitter.source(),
             PROFILE_HEADER: profile_header()}
    paths = [path for variant in kernels.values() for path in kernel_files(variant)]
    for path in dict.fromkeys(paths):  # ordered, without duplicates
        files[flat_file_name(path)] = kernel_file(path)

    infos = [
        LayerInfo(
            index=layer.index,
            op=layer.op,
            input_shapes=list(layer.input_shapes),
            output_shapes=list(layer.output_shapes),
            macs=layer.macs,
            param_bytes=layer.param_bytes,
            kernel=kernels[layer.index].function if layer.kernel_id else None,
            variant=kernels[layer.index].variant if layer.kernel_id else None,
            scratch_bytes=getattr(layer, "scratch_bytes", 0),
            note=notes.get(layer.index, ""),
        )
        for layer in layers
    ]
    return CompiledModel(
        files=files,
        arena_bytes=memory.arena_bytes,
        arena_lower_bound=memory.lower_bound,
        total_macs=sum(info.macs for info in infos),
        weight_bytes=sum(info.param_bytes for info in infos),
        layers=infos,
        input=tensor_info(graph.tensor(graph.inputs[0])),
        output=tensor_info(graph.tensor(graph.outputs[0])),
        memory=memory,
        core=core,
        scratch_bytes=emitter.scratch_bytes,
        reference_weight_bytes=sum(layer.param_bytes for layer in portable),
    )


def specialize_layers(layers: list[LayerPlan], core: str) -> tuple[list[LayerPlan], dict[int, KernelVariant], dict[int, str]]:
    """Per layer, the best variant for `core` that accepts it, with its re-laid plan.

    Variants are tried best first (kernels.registry.candidate_kernels); one that
    declines (shape or arithmetic outside what it runs bit-exactly) passes the layer
    on, and the reference kernel takes anything. Returns the plans, the chosen
    variants and a note per layer (what was specialised or why variants declined).
    """
    discover_kernels()
    chosen_plans, kernels, notes = [], {}, {}
    for layer in layers:
        if not layer.kernel_id:
            chosen_plans.append(layer)
            continue
        declined = []
        for variant in candidate_kernels(layer.kernel_id, core):
            if variant.specialize is None:
                chosen = layer
                break
            try:
                chosen = variant.specialize(layer)
                break
            except Declined as exc:
                declined.append((variant.variant, f"{variant.variant}: {exc}"))
        kernels[layer.index] = variant
        chosen_plans.append(chosen)
        note = getattr(chosen, "note", "")
        # A specialised variant passing a layer to its own family's general one is no
        # fallback worth reporting; a family that gave the layer away is.
        fallbacks = [text for family, text in declined if family != variant.variant]
        notes[layer.index] = "; ".join(filter(None, [note, *(f"declined by {d}" for d in fallbacks)]))
    return chosen_plans, kernels, notes
