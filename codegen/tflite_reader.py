"""Read a .tflite flatbuffer into the graph IR (`codegen.ir`).

The reader is deliberately permissive about *which* operators appear: it models the
options of the operators the engine knows and keeps the rest as `RawOptions`, so that
`inspect` can list an unsupported model operator by operator. Whether an operator can be
compiled is decided by lowering (`codegen.layers`), not here.

What the reader does reject, with `ModelFormatError`, is anything that is not a
well-formed TFLite flatbuffer: wrong file identifier, truncated data, indices or buffer
ranges that point outside the file. Flatbuffers' own exceptions never escape.

It also checks, once and before anything is generated, the numbers every later stage divides
by or trusts (`_check_tensor`): quantization scales finite and positive, zero points inside
their type's range, per-channel parameters matching the channel count, shapes of a plannable
size. A model that breaks these would otherwise fail deep in code generation (a division by a
zero scale) or, worse, compile into firmware that quietly disagrees with tflite-micro.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import ModelFormatError, UnsupportedModelError
from .ir import (
    AddOptions,
    Conv2DOptions,
    DepthwiseConv2DOptions,
    FullyConnectedOptions,
    Graph,
    NoOptions,
    Operator,
    Pool2DOptions,
    Quantization,
    RawOptions,
    ReshapeOptions,
    SoftmaxOptions,
    Tensor,
)

_FILE_IDENTIFIER = b"TFL3"


def _schema():
    # Imported lazily: the generated schema module is large and only needed here.
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def _enum_names(enum_class) -> dict[int, str]:
    return {value: name for name, value in vars(enum_class).items() if not name.startswith("_")}


# TensorType -> numpy dtype name; types without a numpy equivalent map to their schema name.
_NUMPY_DTYPES = {
    "FLOAT32": "float32",
    "FLOAT16": "float16",
    "FLOAT64": "float64",
    "INT8": "int8",
    "UINT8": "uint8",
    "INT16": "int16",
    "UINT16": "uint16",
    "INT32": "int32",
    "UINT32": "uint32",
    "INT64": "int64",
    "UINT64": "uint64",
    "BOOL": "bool",
}

# Integer types a quantized tensor can have, with the range of their zero points.
_ZERO_POINT_RANGE = {
    "int8": (-128, 127),
    "uint8": (0, 255),
    "int16": (-32768, 32767),
    "uint16": (0, 65535),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
# TFLite sizes tensors with int32 element counts.
_MAX_ELEMENTS = 2**31 - 1
# Microcontroller flash holds a few MiB; a model file far past that is a mistake, not a model.
MAX_MODEL_BYTES = 256 * 1024 * 1024

_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
_PADDINGS = {0: "SAME", 1: "VALID"}


def read_tflite(source: str | os.PathLike | bytes | bytearray | memoryview) -> Graph:
    """Parse a .tflite model given as a path or as the file's bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        origin = "<bytes>"
    else:
        data = read_model_bytes(source)
        origin = str(Path(source))
    return _parse(data, origin)


def read_model_bytes(source: str | os.PathLike) -> bytes:
    """A model file's bytes; everything that reads a model from a path goes through here."""
    path = Path(source)
    try:
        # A named pipe or a device would block or never end: only regular files are read.
        if path.exists() and not path.is_file():
            raise ModelFormatError(f"{path} is not a regular file")
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelFormatError(f"{path} is {size / 2**20:.0f} MiB; tinyrig reads models up to "
                                   f"{MAX_MODEL_BYTES // 2**20} MiB (a microcontroller's flash holds a few)")
        return path.read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"cannot read {path}: {exc.strerror or exc}") from None


def _parse(data: bytes, origin: str) -> Graph:
    if len(data) < 8:
        raise ModelFormatError(f"{origin} is {len(data)} bytes, too short for a flatbuffer")
    if data[4:8] != _FILE_IDENTIFIER:
        raise ModelFormatError(
            f"{origin} lacks the TFLite file identifier 'TFL3' (found {data[4:8]!r})"
        )
    schema = _schema()
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    except Exception as exc:  # flatbuffers raises struct.error, IndexError, ... on bad data
        raise ModelFormatError(
            f"{origin} is truncated or corrupt ({type(exc).__name__} while decoding)"
        ) from None
    try:
        return _build_graph(schema, model, data, origin)
    except (ModelFormatError, UnsupportedModelError):
        raise
    except Exception as exc:  # a field that decoded to nonsense (None where a list is due, ...)
        raise ModelFormatError(
            f"{origin} is inconsistent ({type(exc).__name__}: {exc})".replace("\n", " ")
        ) from None


def _build_graph(schema, model, data: bytes, origin: str) -> Graph:
    subgraphs = model.subgraphs or []
    if len(subgraphs) != 1:
        if not subgraphs:
            raise ModelFormatError(f"{origin} has no subgraph")
        raise UnsupportedModelError(f"{len(subgraphs)} subgraphs (only single-subgraph models)")
    subgraph = subgraphs[0]
    buffers = model.buffers or []
    type_names = _enum_names(schema.TensorType)

    tensors = []
    for index, flat_tensor in enumerate(subgraph.tensors or []):
        tensors.append(_read_tensor(index, flat_tensor, buffers, type_names, data, origin))

    op_names = _enum_names(schema.BuiltinOperator)
    operator_codes = model.operatorCodes or []
    operators = []
    for index, flat_op in enumerate(subgraph.operators or []):
        if not 0 <= flat_op.opcodeIndex < len(operator_codes):
            raise ModelFormatError(f"operator {index} has opcode index {flat_op.opcodeIndex} out of range")
        op_name = _operator_name(operator_codes[flat_op.opcodeIndex], op_names)
        inputs = [int(i) for i in (flat_op.inputs if flat_op.inputs is not None else [])]
        outputs = [int(i) for i in (flat_op.outputs if flat_op.outputs is not None else [])]
        for tensor_index in inputs + outputs:
            if tensor_index != -1 and not 0 <= tensor_index < len(tensors):
                raise ModelFormatError(f"operator {index} references tensor {tensor_index} out of range")
        options = _read_options(op_name, flat_op.builtinOptions)
        operators.append(Operator(index=index, op=op_name, options=options, inputs=inputs, outputs=outputs))

    graph_inputs = [int(i) for i in (subgraph.inputs if subgraph.inputs is not None else [])]
    graph_outputs = [int(i) for i in (subgraph.outputs if subgraph.outputs is not None else [])]
    for tensor_index in graph_inputs + graph_outputs:
        if not 0 <= tensor_index < len(tensors):
            raise ModelFormatError(f"graph input/output tensor {tensor_index} out of range")
    description = model.description.decode("utf-8", "replace") if model.description else ""
    return Graph(tensors=tensors, operators=operators, inputs=graph_inputs, outputs=graph_outputs, description=description)


def _operator_name(code, op_names: dict[int, str]) -> str:
    # Models written before the schema grew past 127 builtins only fill the deprecated field.
    builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    name = op_names.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        custom = code.customCode.decode("utf-8", "replace") if code.customCode else "?"
        return f"CUSTOM:{custom}"
    return name


def _read_tensor(index, flat_tensor, buffers, type_names, data: bytes, origin: str) -> Tensor:
    name = flat_tensor.name.decode("utf-8", "replace") if flat_tensor.name else f"tensor_{index}"
    shape = tuple(int(d) for d in (flat_tensor.shape if flat_tensor.shape is not None else []))
    if any(d < 0 for d in shape):
        # Dynamic dimensions (-1) cannot be planned into a static arena.
        raise UnsupportedModelError(f"tensor {index} ({name}) has a dynamic shape {list(shape)}")
    type_name = type_names.get(flat_tensor.type, f"TYPE_{flat_tensor.type}")
    dtype = _NUMPY_DTYPES.get(type_name, type_name.lower())

    quantization = None
    q = flat_tensor.quantization
    if q is not None and q.scale is not None and len(q.scale) > 0:
        scale = np.asarray(q.scale, dtype=np.float32).reshape(-1)
        zero_point = (
            np.asarray(q.zeroPoint, dtype=np.int64).reshape(-1)
            if q.zeroPoint is not None and len(q.zeroPoint) > 0
            else np.zeros(scale.shape, dtype=np.int64)
        )
        if zero_point.size != scale.size:
            raise ModelFormatError(f"tensor {index} has {scale.size} scales but {zero_point.size} zero points")
        quantization = Quantization(scale=scale, zero_point=zero_point, quantized_dimension=int(q.quantizedDimension))
    _check_tensor(index, name, shape, dtype, quantization)

    constant = None
    if not 0 <= flat_tensor.buffer < max(len(buffers), 1):
        raise ModelFormatError(f"tensor {index} references buffer {flat_tensor.buffer} out of range")
    if buffers:
        raw = _buffer_bytes(buffers[flat_tensor.buffer], data, index)
        if raw is not None and len(raw) > 0:
            constant = _decode_constant(raw, dtype, shape, index, name)
    return Tensor(index=index, name=name, shape=shape, dtype=dtype, quantization=quantization, data=constant)


def _check_tensor(index: int, name: str, shape: tuple[int, ...], dtype: str, quantization: Quantization | None) -> None:
    """The numbers later stages rely on; one ModelFormatError line naming the tensor otherwise."""
    what = f"tensor {index} ({name})"
    if any(d == 0 for d in shape):
        raise ModelFormatError(f"{what} has an empty dimension in its shape {list(shape)}; every dimension must be >= 1")
    elements = 1
    for d in shape:
        elements *= d
    if elements > _MAX_ELEMENTS:
        raise ModelFormatError(f"{what} has {elements:,} elements (shape {list(shape)}); TFLite allows up to "
                               f"{_MAX_ELEMENTS:,}")
    if quantization is None or dtype not in _ZERO_POINT_RANGE:
        return  # float tensors may carry leftover quantization fields; nothing reads them
    scale, zero_point = quantization.scale, quantization.zero_point
    bad = np.flatnonzero(~(np.isfinite(scale) & (scale > 0)))
    if bad.size:
        channel = f" (channel {int(bad[0])})" if scale.size > 1 else ""
        raise ModelFormatError(f"{what} has quantization scale {float(scale[bad[0]])!r}{channel}; "
                               f"a scale must be finite and > 0")
    lo, hi = _ZERO_POINT_RANGE[dtype]
    outside = np.flatnonzero((zero_point < lo) | (zero_point > hi))
    if outside.size:
        channel = f" (channel {int(outside[0])})" if zero_point.size > 1 else ""
        raise ModelFormatError(f"{what} has zero point {int(zero_point[outside[0]])}{channel}; "
                               f"{dtype} zero points lie in {lo}..{hi}")
    if scale.size > 1:
        axis = quantization.quantized_dimension
        if not 0 <= axis < len(shape):
            raise ModelFormatError(f"{what} has per-channel quantization along dimension {axis}, but its shape "
                                   f"{list(shape)} has {len(shape)} dimensions")
        if shape[axis] != scale.size:
            raise ModelFormatError(f"{what} has {scale.size} per-channel scales along dimension {axis}, which "
                                   f"holds {shape[axis]} channels")


def _buffer_bytes(buffer, data: bytes, tensor_index: int) -> bytes | None:
    if buffer.data is not None and len(buffer.data) > 0:
        return bytes(np.asarray(buffer.data, dtype=np.uint8))
    # Models larger than 2 GB keep buffers outside the flatbuffer, addressed by offset/size.
    # Offset 1 with size 0 is the schema's marker for "no data".
    if buffer.offset and buffer.offset > 1:
        end = buffer.offset + buffer.size
        if end > len(data):
            raise ModelFormatError(f"tensor {tensor_index} data [{buffer.offset}, {end}) lies beyond the file end {len(data)}")
        return data[buffer.offset:end]
    return None


def _decode_constant(raw: bytes, dtype: str, shape, index: int, name: str) -> np.ndarray:
    try:
        np_dtype = np.dtype(dtype)
    except TypeError:
        raise UnsupportedModelError(f"tensor {index} ({name}) has constant data of type {dtype}") from None
    count = 1
    for dim in shape:
        count *= dim
    if len(raw) != count * np_dtype.itemsize:
        raise ModelFormatError(
            f"tensor {index} ({name}) holds {len(raw)} bytes, its shape {list(shape)} of {dtype} needs {count * np_dtype.itemsize}"
        )
    # Little-endian per the TFLite schema; copy so the array owns writable memory.
    return np.frombuffer(raw, dtype=np_dtype.newbyteorder("<")).astype(np_dtype).reshape(shape)


def _read_options(op_name: str, flat) -> object:
    if op_name == "CONV_2D":
        return Conv2DOptions(
            padding=_PADDINGS.get(flat.padding, str(flat.padding)),
            stride_h=int(flat.strideH),
            stride_w=int(flat.strideW),
            dilation_h=int(flat.dilationHFactor),
            dilation_w=int(flat.dilationWFactor),
            activation=_ACTIVATIONS.get(flat.fusedActivationFunction, str(flat.fusedActivationFunction)),
        )
    if op_name == "DEPTHWISE_CONV_2D":
        return DepthwiseConv2DOptions(
            padding=_PADDINGS.get(flat.padding, str(flat.padding)),
            stride_h=int(flat.strideH),
            stride_w=int(flat.strideW),
            dilation_h=int(flat.dilationHFactor),
            dilation_w=int(flat.dilationWFactor),
            depth_multiplier=int(flat.depthMultiplier),
            activation=_ACTIVATIONS.get(flat.fusedActivationFunction, str(flat.fusedActivationFunction)),
        )
    if op_name == "FULLY_CONNECTED":
        if flat is None:  # every field at its default
            return FullyConnectedOptions(activation="NONE", keep_num_dims=False, weights_format="DEFAULT", asymmetric_quantize_inputs=False)
        return FullyConnectedOptions(
            activation=_ACTIVATIONS.get(flat.fusedActivationFunction, str(flat.fusedActivationFunction)),
            keep_num_dims=bool(flat.keepNumDims),
            weights_format={0: "DEFAULT", 1: "SHUFFLED4x16INT8"}.get(flat.weightsFormat, str(flat.weightsFormat)),
            asymmetric_quantize_inputs=bool(flat.asymmetricQuantizeInputs),
        )
    if op_name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return Pool2DOptions(
            padding=_PADDINGS.get(flat.padding, str(flat.padding)),
            stride_h=int(flat.strideH),
            stride_w=int(flat.strideW),
            filter_h=int(flat.filterHeight),
            filter_w=int(flat.filterWidth),
            activation=_ACTIVATIONS.get(flat.fusedActivationFunction, str(flat.fusedActivationFunction)),
        )
    if op_name == "ADD":
        if flat is None:
            return AddOptions(activation="NONE")
        return AddOptions(activation=_ACTIVATIONS.get(flat.fusedActivationFunction, str(flat.fusedActivationFunction)))
    if op_name == "SOFTMAX":
        return SoftmaxOptions(beta=float(np.float32(flat.beta)) if flat is not None else 1.0)
    if op_name == "RESHAPE":
        new_shape = None
        if flat is not None and flat.newShape is not None:
            new_shape = tuple(int(d) for d in flat.newShape)
        return ReshapeOptions(new_shape=new_shape)
    if op_name in ("QUANTIZE", "DEQUANTIZE"):
        return NoOptions()
    if flat is None:
        return RawOptions(table="")
    fields = {k: v for k, v in vars(flat).items() if isinstance(v, (int, float, bool, str))}
    return RawOptions(table=type(flat).__name__, fields=fields)
