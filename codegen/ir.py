"""A small graph IR for int8 TFLite models: plain dataclasses, no behaviour.

The reader (`tflite_reader`) produces it; lowering, planning and emission consume it.
Shapes are tuples of ints, dtypes are lower-case numpy-style names ("int8", "float32").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: real = scale * (q - zero_point).

    `scale` and `zero_point` have one entry (per-tensor) or one per slice along
    `quantized_dimension` (per-channel).
    """

    scale: np.ndarray  # float32
    zero_point: np.ndarray  # int64
    quantized_dimension: int = 0

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quantization: Quantization | None = None
    data: np.ndarray | None = None  # constant contents, shaped, for tensors backed by a buffer

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def element_count(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def byte_size(self) -> int:
        return self.element_count * np.dtype(self.dtype).itemsize

    @property
    def scale(self) -> float:
        """Per-tensor scale (first entry), 0.0 when the tensor is not quantized."""
        return float(self.quantization.scale[0]) if self.quantization is not None else 0.0

    @property
    def zero_point(self) -> int:
        return int(self.quantization.zero_point[0]) if self.quantization is not None else 0


# Operator options, normalised from the flatbuffer option tables.
# `activation` is one of NONE, RELU, RELU_N1_TO_1, RELU6, TANH, SIGN_BIT;
# `padding` is SAME or VALID.


@dataclass(frozen=True)
class Conv2DOptions:
    padding: str
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    activation: str


@dataclass(frozen=True)
class DepthwiseConv2DOptions:
    padding: str
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    depth_multiplier: int
    activation: str


@dataclass(frozen=True)
class FullyConnectedOptions:
    activation: str
    keep_num_dims: bool
    weights_format: str
    asymmetric_quantize_inputs: bool


@dataclass(frozen=True)
class Pool2DOptions:
    padding: str
    stride_h: int
    stride_w: int
    filter_h: int
    filter_w: int
    activation: str


@dataclass(frozen=True)
class AddOptions:
    activation: str


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float


@dataclass(frozen=True)
class ReshapeOptions:
    new_shape: tuple[int, ...] | None


@dataclass(frozen=True)
class NoOptions:
    """Operators without options (QUANTIZE, DEQUANTIZE)."""


@dataclass(frozen=True)
class RawOptions:
    """Options of an operator the engine does not model; kept for error messages."""

    table: str
    fields: dict = field(default_factory=dict)


@dataclass
class Operator:
    index: int
    op: str  # builtin operator name, e.g. "CONV_2D"; "CUSTOM:<name>" for custom ops
    options: object
    inputs: list[int]  # tensor indices, -1 for an omitted optional input
    outputs: list[int]


@dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    description: str = ""

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]
