"""C++ emission: turn lowered layers plus a memory plan into tinyrig_model.{h,cc}.

The generated translation unit holds
  * one 16-byte aligned static arena (the only RAM the model uses),
  * every precomputed constant as an `alignas(16) const` array at namespace
    scope, i.e. in flash on a microcontroller (in RAM, copied there at reset with
    .data, when the build defines TINYRIG_CONSTANTS_IN_RAM: codegen/firmware.py),
  * one `const` parameter block per layer with all shapes as literals, its
    fields named by designated initialisers (checked by the compiler),
  * `tinyrig_model_invoke()`, a straight sequence of kernel calls, each wrapped
    in TINYRIG_LAYER_BEGIN/END(index) profiling hooks (empty unless the
    firmware defines them).
No allocation, no printf, no libc calls happen in the inference path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .ir import Graph, Tensor
from .kernels.registry import KernelVariant, flat_file_name
from .layer import ConstantArray, ConstantRef, LayerPlan, ParamStruct
from .planner import MemoryPlan

# Defines TINYRIG_LAYER_BEGIN/END as marker stores in profiling builds (TINYRIG_PROFILE=1);
# the model's own runtime file, not a kernel's (codegen/runtime/).
PROFILE_HEADER = "tinyrig_profile.h"

_C_TYPES = {"int8": "int8_t", "float32": "float", "int32": "int32_t", "int16": "int16_t", "uint8": "uint8_t"}


@dataclass(frozen=True)
class TensorInfo:
    """Public description of the model's input or output tensor."""

    shape: tuple[int, ...]
    dtype: str  # "int8" or "float32"
    scale: float  # 1.0 for an unquantized float tensor
    zero_point: int  # 0 for an unquantized float tensor

    @property
    def elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.elements * np.dtype(self.dtype).itemsize


def tensor_info(tensor: Tensor) -> TensorInfo:
    if tensor.quantization is None:
        return TensorInfo(shape=tensor.shape, dtype=tensor.dtype, scale=1.0, zero_point=0)
    return TensorInfo(shape=tensor.shape, dtype=tensor.dtype, scale=float(np.float32(tensor.scale)),
                      zero_point=tensor.zero_point)


def profile_header() -> str:
    return resources.files(__package__).joinpath("runtime", PROFILE_HEADER).read_text(encoding="utf-8")


def int_literal(value: int) -> str:
    value = int(value)
    # -2147483648 is not an int literal in C++ (it is -(2147483648L)); spell it out.
    return "INT32_MIN" if value == -(2**31) else str(value)


def float_literal(value) -> str:
    text = str(np.float32(value))  # shortest text that round-trips the float32
    if not np.isfinite(np.float32(value)):
        raise ValueError(f"non-finite constant {value}")
    return text + "f"


def _field_literal(value, layer_index: int) -> str:
    if isinstance(value, ConstantRef):
        return constant_symbol(layer_index, value.name)
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(_field_literal(v, layer_index) for v in value) + "}"
    if isinstance(value, (float, np.floating)):
        return float_literal(value)
    return int_literal(value)


def designated_initializer(fields, layer_index: int, indent: str = "") -> str:
    """`{ .name = value, ... }` over (name, value) fields in declaration order, one a line.

    Designated initialisers make the compiler check the Python side's field names and
    order against the struct (a misspelt or reordered field is an error; one left out
    is a -Wmissing-field-initializers warning, an error under -Werror). C++20 syntax,
    which g++ 12 also takes in the -std=c++17 / gnu++17 the builds use."""
    inner = indent + "    "
    lines = []
    for name, value in fields:
        if isinstance(value, ParamStruct):
            literal = designated_initializer(value.fields, layer_index, inner)
        else:
            literal = _field_literal(value, layer_index)
        lines.append(f"{inner}.{name} = {literal},\n")
    return "{\n" + "".join(lines) + indent + "}"


def constant_symbol(layer_index: int, name: str) -> str:
    return f"k_layer{layer_index}_{name}"


# A constant's definition as _array_definition and ModelEmitter._layer_data write it.
_CONSTANT_DEFINITION = re.compile(r"^TINYRIG_CONSTANT (?=[^=\n]*\bk_layer(\d+)_\w+(?:\[\d+\])? = )", re.MULTILINE)


def with_layers_in_ram(source: str, layers: set[int]) -> str:
    """The model source with the constants of `layers` (arrays and parameter blocks) always in RAM
    (TINYRIG_CONSTANT_IN_RAM), the others as before: the placement for a board whose RAM takes some
    of a model's constants, not all (codegen/firmware.py place_constants)."""
    return _CONSTANT_DEFINITION.sub(
        lambda m: "TINYRIG_CONSTANT_IN_RAM " if int(m.group(1)) in layers else m.group(0), source)


def _array_definition(layer_index: int, array: ConstantArray, per_line: int = 24) -> str:
    values = np.asarray(array.values).reshape(-1)
    if array.ctype == "float":
        items = [float_literal(v) for v in values]
    else:
        items = [int_literal(v) for v in values.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    body = ",\n    ".join(lines)
    return (f"TINYRIG_CONSTANT alignas(16) const {array.ctype} {constant_symbol(layer_index, array.name)}[{len(items)}] = {{\n"
            f"    {body}}};\n")


class ModelEmitter:
    def __init__(self, graph: Graph, layers: list[LayerPlan], kernels: dict[int, KernelVariant],
                 memory: MemoryPlan, source_name: str):
        self.graph = graph
        self.layers = layers
        self.kernels = kernels  # layer index -> variant, for layers with a kernel
        self.memory = memory
        self.source_name = source_name
        self.input = graph.tensor(graph.inputs[0])
        self.output = graph.tensor(graph.outputs[0])

    # -- tinyrig_model.h ----------------------------------------------------
    def header(self) -> str:
        inp, out = tensor_info(self.input), tensor_info(self.output)
        macros = [
            ("TINYRIG_MODEL_INPUT_BYTES", str(inp.nbytes)),
            ("TINYRIG_MODEL_OUTPUT_BYTES", str(out.nbytes)),
            ("TINYRIG_MODEL_INPUT_ELEMENTS", str(inp.elements)),
            ("TINYRIG_MODEL_OUTPUT_ELEMENTS", str(out.elements)),
            ("TINYRIG_MODEL_INPUT_IS_FLOAT", "1" if inp.dtype == "float32" else "0"),
            ("TINYRIG_MODEL_OUTPUT_IS_FLOAT", "1" if out.dtype == "float32" else "0"),
            ("TINYRIG_MODEL_INPUT_SCALE", float_literal(inp.scale)),
            ("TINYRIG_MODEL_INPUT_ZERO_POINT", str(inp.zero_point)),
            ("TINYRIG_MODEL_OUTPUT_SCALE", float_literal(out.scale)),
            ("TINYRIG_MODEL_OUTPUT_ZERO_POINT", str(out.zero_point)),
            ("TINYRIG_MODEL_ARENA_BYTES", str(self.arena_array_bytes)),
            ("TINYRIG_MODEL_LAYER_COUNT", str(len(self.layers))),
            ("TINYRIG_MODEL_SCRATCH_BYTES", str(self.scratch_bytes)),
        ]
        width = max(len(name) for name, _ in macros)
        defines = "\n".join(f"#define {name.ljust(width)} {value}" for name, value in macros)
        return f"""// Generated by tinyrig from {self.source_name}. Do not edit.
//
// Input  {list(inp.shape)} {inp.dtype}; output {list(out.shape)} {out.dtype}.
// Scale / zero point of a float tensor are 1.0f / 0 (no quantization).
#ifndef TINYRIG_MODEL_H_
#define TINYRIG_MODEL_H_

{defines}

#ifdef __cplusplus
extern "C" {{
#endif

// Where to write one input of TINYRIG_MODEL_INPUT_BYTES bytes before invoking.
void* tinyrig_model_input(void);
// Where the output (TINYRIG_MODEL_OUTPUT_BYTES bytes) is after invoking.
const void* tinyrig_model_output(void);
// Runs every layer once over the current input.
void tinyrig_model_invoke(void);

#ifdef __cplusplus
}}
#endif

#endif  // TINYRIG_MODEL_H_
"""

    @property
    def scratch_bytes(self) -> int:
        """Scratch RAM of the most demanding kernel: layers run one at a time and share it."""
        needs = [getattr(layer, "scratch_bytes", 0) for layer in self.layers]
        return (max(needs, default=0) + 15) // 16 * 16

    def _scratch_definition(self) -> str:
        if not any(hasattr(layer, "scratch_bytes") for layer in self.layers):
            return ""
        return ("// Kernel scratch (widened input columns / rows), reused by every layer.\n"
                f"alignas(16) int32_t g_scratch[{max(self.scratch_bytes, 16) // 4}];\n\n")

    @property
    def arena_array_bytes(self) -> int:
        return max(self.memory.arena_bytes, 16)  # a zero-length array is not valid C++

    # -- tinyrig_model.cc ---------------------------------------------------
    def _tensor_pointer(self, tensor_index: int, writable: bool) -> str:
        tensor = self.graph.tensor(tensor_index)
        ctype = _C_TYPES[tensor.dtype]
        qualifier = "" if writable else "const "
        return f"reinterpret_cast<{qualifier}{ctype}*>(&g_arena[{self.memory.offsets[tensor_index]}])"

    def _layer_call(self, layer: LayerPlan) -> str:
        if layer.kernel_id is None:
            return f"  // {layer.op}: output shares the input's arena bytes, nothing to run.\n"
        args = [constant_symbol(layer.index, "params")]
        for position, tensor in enumerate(layer.inputs):
            if position in layer.constant_inputs:
                args.append(constant_symbol(layer.index, layer.constant_inputs[position]))
            else:
                args.append(self._tensor_pointer(tensor, writable=False))
        args += [self._tensor_pointer(tensor, writable=True) for tensor in layer.outputs]
        if hasattr(layer, "scratch_bytes"):  # specialised kernels all take the scratch pointer
            args.append("g_scratch")
        separator = ",\n" + " " * 6
        return f"  {self.kernels[layer.index].function}(\n      {separator.join(args)});\n"

    def _layer_data(self, layer: LayerPlan) -> str:
        if layer.kernel_id is None:
            return ""
        parts = [f"// layer {layer.index}: {layer.op} {[list(s) for s in layer.input_shapes]} -> "
                 f"{[list(s) for s in layer.output_shapes]}, {self.kernels[layer.index].function}\n"]
        parts += [_array_definition(layer.index, array) for array in layer.constants]
        initializer = designated_initializer(layer.params, layer.index)
        parts.append(f"TINYRIG_CONSTANT const tinyrig::{layer.params_type} {constant_symbol(layer.index, 'params')} = "
                     f"{initializer};\n")
        return "".join(parts)

    def source(self) -> str:
        headers = sorted({self.kernels[layer.index].header for layer in self.layers if layer.kernel_id})
        includes = "\n".join(f'#include "{flat_file_name(h)}"' for h in headers)
        data = "\n".join(filter(None, (self._layer_data(layer) for layer in self.layers)))
        calls = "\n".join(
            f"  TINYRIG_LAYER_BEGIN({layer.index});\n{self._layer_call(layer)}  TINYRIG_LAYER_END({layer.index});\n"
            for layer in self.layers
        )
        return f"""// Generated by tinyrig from {self.source_name}. Do not edit.
#include "tinyrig_model.h"

#include <cstdint>

{includes}

// Per-layer profiling hooks: a firmware may define these (e.g. to read a cycle
// counter) before compiling this file; by default they compile to nothing. A
// profiling build (TINYRIG_PROFILE=1) gets marker stores from {PROFILE_HEADER}.
#if defined(TINYRIG_PROFILE) && TINYRIG_PROFILE
#include "{PROFILE_HEADER}"
#endif
#ifndef TINYRIG_LAYER_BEGIN
#define TINYRIG_LAYER_BEGIN(layer_index) ((void)0)
#endif
#ifndef TINYRIG_LAYER_END
#define TINYRIG_LAYER_END(layer_index) ((void)0)
#endif

// The constants below stay in flash, unless the build puts them in RAM (copied there at reset
// with .data): codegen/firmware.py does for a board whose flash has wait states, where every
// weight read that misses the flash accelerator's small data cache would stall the core. All of
// them with TINYRIG_CONSTANTS_IN_RAM; when not all fit, the layers that would wait on flash most per byte are marked
// TINYRIG_CONSTANT_IN_RAM here (codegen/firmware.py place_constants).
#define TINYRIG_CONSTANT_IN_RAM __attribute__((section(".data.tinyrig_constants")))
#if defined(TINYRIG_CONSTANTS_IN_RAM) && TINYRIG_CONSTANTS_IN_RAM
#define TINYRIG_CONSTANT TINYRIG_CONSTANT_IN_RAM
#else
#define TINYRIG_CONSTANT
#endif

namespace {{

// All activations live here; offsets were planned from tensor lifetimes.
alignas(16) uint8_t g_arena[TINYRIG_MODEL_ARENA_BYTES];

{self._scratch_definition()}{data}
}}  // namespace

extern "C" void* tinyrig_model_input(void) {{ return &g_arena[{self.memory.offsets[self.input.index]}]; }}

extern "C" const void* tinyrig_model_output(void) {{ return &g_arena[{self.memory.offsets[self.output.index]}]; }}

extern "C" void tinyrig_model_invoke(void) {{
#if defined(TINYRIG_PROFILE) && TINYRIG_PROFILE
  // An empty pair first: the profiler subtracts its count (the hooks' own cost) from every layer.
  TINYRIG_LAYER_BEGIN(-1);
  TINYRIG_LAYER_END(-1);
#endif
{calls}}}
"""
