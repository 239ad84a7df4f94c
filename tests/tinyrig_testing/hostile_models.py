"""Hostile variants of a real model: kws01 with one field set to what a broken converter (or a
careful attacker) might write."""

from __future__ import annotations

import os
from pathlib import Path

import flatbuffers
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

# tests/conftest.py sets TINYRIG_MODELS to the shared models when it is not set.
MODELS = Path(os.environ.get("TINYRIG_MODELS") or Path(__file__).resolve().parents[3] / "shared" / "mlperf-tiny" / "models")


def model_bytes(benchmark: str = "kws01") -> bytes:
    return (MODELS / f"{benchmark}.tflite").read_bytes()


def _repack(model) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _model(benchmark: str = "kws01"):
    return schema.ModelT.InitFromPackedBuf(bytearray(model_bytes(benchmark)), 0)


# The tensors the faults go into: kws01's input (0), a conv's per-channel weights (found by name
# below) and the first activation; enough to reach the reader's checks on each kind.
def _tensor(model, which: str):
    graph = model.subgraphs[0]
    if which == "input":
        return graph.tensors[graph.inputs[0]]
    if which == "weights":  # the first CONV_2D's filter (per-channel quantized)
        conv = next(op for op in graph.operators
                    if max(model.operatorCodes[op.opcodeIndex].builtinCode,
                           model.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode) == schema.BuiltinOperator.CONV_2D)
        return graph.tensors[conv.inputs[1]]
    if which == "output":
        return graph.tensors[graph.operators[0].outputs[0]]
    raise ValueError(which)


def with_scale(value: float, which: str = "output", benchmark: str = "kws01") -> bytes:
    model = _model(benchmark)
    q = _tensor(model, which).quantization
    q.scale = [value] * len(q.scale)
    return _repack(model)


def with_zero_point(value: int, which: str = "output") -> bytes:
    model = _model()
    q = _tensor(model, which).quantization
    q.zeroPoint = [value] * len(q.zeroPoint)
    return _repack(model)


def with_extra_scale() -> bytes:
    """Per-channel weights with one scale (and zero point) more than they have channels."""
    model = _model()
    q = _tensor(model, "weights").quantization
    q.scale = list(q.scale) + [q.scale[0]]
    q.zeroPoint = list(q.zeroPoint) + [0]
    return _repack(model)


def with_quantized_dimension(axis: int) -> bytes:
    model = _model()
    _tensor(model, "weights").quantization.quantizedDimension = axis
    return _repack(model)


def with_buffer_index(index: int) -> bytes:
    model = _model()
    _tensor(model, "weights").buffer = index
    return _repack(model)


def with_shape(shape: list[int], which: str = "output") -> bytes:
    model = _model()
    _tensor(model, which).shape = shape
    return _repack(model)


def with_short_buffer() -> bytes:
    """Weights whose buffer holds fewer bytes than their shape needs."""
    model = _model()
    tensor = _tensor(model, "weights")
    buffer = model.buffers[tensor.buffer]
    buffer.data = buffer.data[: len(buffer.data) // 2]
    return _repack(model)


def with_operator_input(index: int) -> bytes:
    model = _model()
    model.subgraphs[0].operators[0].inputs[0] = index
    return _repack(model)


def with_opcode_index(index: int) -> bytes:
    model = _model()
    model.subgraphs[0].operators[0].opcodeIndex = index
    return _repack(model)


def with_two_subgraphs() -> bytes:
    model = _model()
    model.subgraphs = [model.subgraphs[0], model.subgraphs[0]]
    return _repack(model)


def truncated(fraction: float = 0.3) -> bytes:
    data = model_bytes()
    return data[: int(len(data) * fraction)]


def wrong_identifier() -> bytes:
    data = bytearray(model_bytes())
    data[4:8] = b"TFL2"
    return bytes(data)


# Models that read well but do not compile: the reader is fine with them, the engine is not.

def with_operator(builtin: int, custom: bytes | None = None) -> bytes:
    """kws01 with its SOFTMAX's operator code replaced (e.g. TANH, or CUSTOM with a custom code)."""
    model = _model()
    code = next(c for c in model.operatorCodes
                if max(c.builtinCode, c.deprecatedBuiltinCode) == schema.BuiltinOperator.SOFTMAX)
    code.builtinCode = code.deprecatedBuiltinCode = builtin
    code.customCode = custom
    return _repack(model)


def with_two_outputs() -> bytes:
    """kws01 whose graph also outputs its first activation."""
    model = _model()
    graph = model.subgraphs[0]
    graph.outputs = [*graph.outputs, graph.operators[0].outputs[0]]
    return _repack(model)


def with_int16_activations() -> bytes:
    """kws01 with every activation (every tensor without constant data) int16: a 16x8 model's types."""
    model = _model()
    for tensor in model.subgraphs[0].tensors:
        data = model.buffers[tensor.buffer].data
        if tensor.type == schema.TensorType.INT8 and (data is None or len(data) == 0):
            tensor.type = schema.TensorType.INT16
    return _repack(model)
