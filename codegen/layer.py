"""The lowered form of one operator: what the emitter needs to generate its call.

A `LayerPlan` names a kernel (by kernel id, resolved to a variant by
`kernels.registry`), the fields of that kernel's parameter struct, the constant
arrays the host precomputed for it, and which arena tensors it reads and writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import UnsupportedModelError
from .ir import Graph, Operator, Tensor


@dataclass(frozen=True)
class ConstantRef:
    """A params-struct field that points at one of the layer's constant arrays."""

    name: str


@dataclass(frozen=True)
class ParamStruct:
    """A params-struct field that is itself a struct (e.g. the Window2D geometry that
    conv, depthwise and pool parameters embed): its fields in declaration order."""

    fields: tuple[tuple[str, object], ...]


# Window2D (kernels/tinyrig_window.h): the geometry conv, depthwise and pool
# parameter blocks of every family embed as their `window` field.
WINDOW_FIELDS = ("input_h", "input_w", "input_c", "output_h", "output_w", "output_c", "filter_h", "filter_w",
                 "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left")


def window_param(values: dict) -> tuple[str, ParamStruct]:
    """The ("window", Window2D) field, from a dict holding (at least) WINDOW_FIELDS."""
    return ("window", ParamStruct(tuple((name, values[name]) for name in WINDOW_FIELDS)))


@dataclass
class ConstantArray:
    name: str  # unique within the layer; the emitter prefixes the layer index
    ctype: str  # "int8_t", "uint16_t", "int32_t" or "float"
    values: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.values.size) * {"int8_t": 1, "uint16_t": 2, "int32_t": 4, "float": 4}[self.ctype]


@dataclass
class LayerPlan:
    index: int
    op: str
    # Kernel id such as "conv2d_s8"; None when the layer needs no code (RESHAPE aliases).
    kernel_id: str | None
    params_type: str | None = None  # C++ struct name in namespace tinyrig
    # The struct's fields in declaration order, emitted as designated initialisers
    # (`.input_h = 5`), so the C++ compiler checks every name and the order.
    params: list[tuple[str, object]] = field(default_factory=list)
    constants: list[ConstantArray] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)  # tensors passed to the kernel, in order
    # Inputs that are model constants, by position in `inputs`: read from this constant array.
    constant_inputs: dict[int, str] = field(default_factory=dict)
    outputs: list[int] = field(default_factory=list)
    input_shapes: list[tuple[int, ...]] = field(default_factory=list)
    output_shapes: list[tuple[int, ...]] = field(default_factory=list)
    macs: int = 0
    alias_of: int | None = None  # output shares the storage of this input tensor

    @property
    def param_bytes(self) -> int:
        return sum(array.nbytes for array in self.constants)


class OperatorContext:
    """Convenience accessors and checks for lowering one operator."""

    def __init__(self, graph: Graph, operator: Operator):
        self.graph = graph
        self.operator = operator

    def fail(self, reason: str) -> UnsupportedModelError:
        return UnsupportedModelError(reason, self.operator.index, self.operator.op)

    def require(self, condition: bool, reason: str) -> None:
        if not condition:
            raise self.fail(reason)

    def input(self, position: int, what: str) -> Tensor:
        inputs = self.operator.inputs
        self.require(position < len(inputs) and inputs[position] >= 0, f"missing {what} input")
        return self.graph.tensor(inputs[position])

    def optional_input(self, position: int) -> Tensor | None:
        inputs = self.operator.inputs
        if position < len(inputs) and inputs[position] >= 0:
            return self.graph.tensor(inputs[position])
        return None

    def output(self, position: int = 0) -> Tensor:
        outputs = self.operator.outputs
        self.require(position < len(outputs) and outputs[position] >= 0, "missing output")
        return self.graph.tensor(outputs[position])

    def require_counts(self, min_inputs: int, max_inputs: int, outputs: int = 1) -> None:
        count = len(self.operator.inputs)
        self.require(min_inputs <= count <= max_inputs,
                     f"expects {min_inputs}..{max_inputs} inputs, has {count}")
        self.require(len(self.operator.outputs) == outputs,
                     f"expects {outputs} output(s), has {len(self.operator.outputs)}")

    def require_activation(self, tensor: Tensor, role: str, dtype: str = "int8") -> None:
        """An int8 (or given dtype) tensor produced at run time, per-tensor quantized."""
        self.require(tensor.dtype == dtype, f"{role} tensor '{tensor.name}' is {tensor.dtype}, expected {dtype}")
        self.require(not tensor.is_constant, f"{role} tensor '{tensor.name}' is a constant")
        if dtype == "int8":
            self.require(tensor.quantization is not None, f"{role} tensor '{tensor.name}' has no quantization")
            self.require(not tensor.quantization.per_channel,
                         f"{role} tensor '{tensor.name}' is per-channel quantized")

    def plan(self, kernel_id: str | None, **fields) -> LayerPlan:
        return LayerPlan(index=self.operator.index, op=self.operator.op, kernel_id=kernel_id, **fields)
