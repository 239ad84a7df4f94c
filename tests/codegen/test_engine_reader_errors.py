"""Bad input gives one clear line: ModelFormatError for files that are not a readable
.tflite, UnsupportedModelError naming the operator for models the engine cannot compile."""

from __future__ import annotations

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinyrig_testing.engine_reference_data import reference_model_path
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.errors import ModelFormatError, UnsupportedModelError
from tinyrig.codegen.tflite_reader import read_tflite


def kws_bytes() -> bytes:
    return reference_model_path("kws01").read_bytes()


def repack(model: "schema.ModelT") -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def assert_one_line(error: Exception) -> None:
    message = str(error)
    assert message and "\n" not in message, repr(message)
    # The flatbuffers exception must not leak as the visible cause.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


@pytest.mark.parametrize("fraction", [0.0001, 0.01, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_a_format_error(fraction):
    data = kws_bytes()
    with pytest.raises(ModelFormatError) as caught:
        read_tflite(data[: max(1, int(len(data) * fraction))])
    assert_one_line(caught.value)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_a_format_error(seed):
    data = np.random.default_rng(seed).integers(0, 256, size=4096, dtype=np.uint8).tobytes()
    with pytest.raises(ModelFormatError, match="TFL3") as caught:
        read_tflite(data)
    assert_one_line(caught.value)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_behind_a_valid_identifier_are_a_format_error(seed):
    body = bytearray(np.random.default_rng(100 + seed).integers(0, 256, size=4096, dtype=np.uint8).tobytes())
    body[4:8] = b"TFL3"
    with pytest.raises(ModelFormatError) as caught:
        read_tflite(bytes(body))
    assert_one_line(caught.value)


def test_corrupted_model_body_is_a_format_error():
    data = bytearray(kws_bytes())
    rng = np.random.default_rng(7)
    # Scramble the root table region (everything before the large weight buffers).
    for position in rng.integers(8, 64, size=24):
        data[position] = int(rng.integers(0, 256))
    with pytest.raises((ModelFormatError, UnsupportedModelError)) as caught:
        compile_model(bytes(data))
    assert "\n" not in str(caught.value)


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(ModelFormatError, match="cannot read"):
        read_tflite(tmp_path / "absent.tflite")
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(ModelFormatError, match="too short"):
        read_tflite(empty)


def test_unsupported_operator_names_index_and_op():
    model = schema.ModelT.InitFromPackedBuf(bytearray(kws_bytes()), 0)
    softmax_code = next(i for i, code in enumerate(model.operatorCodes)
                        if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.SOFTMAX)
    model.operatorCodes[softmax_code].builtinCode = schema.BuiltinOperator.LOGISTIC
    model.operatorCodes[softmax_code].deprecatedBuiltinCode = schema.BuiltinOperator.LOGISTIC
    with pytest.raises(UnsupportedModelError) as caught:
        compile_model(repack(model))
    error = caught.value
    assert str(error) == "unsupported operator 12 (LOGISTIC): operator type not supported"
    assert (error.operator_index, error.op) == (12, "LOGISTIC")


def test_unsupported_fused_activation_names_the_operator():
    model = schema.ModelT.InitFromPackedBuf(bytearray(kws_bytes()), 0)
    model.subgraphs[0].operators[2].builtinOptions.fusedActivationFunction = schema.ActivationFunctionType.TANH
    with pytest.raises(UnsupportedModelError, match=r"^unsupported operator 2 \(CONV_2D\): fused activation TANH"):
        compile_model(repack(model))


def test_unsupported_dtype_names_the_operator():
    model = schema.ModelT.InitFromPackedBuf(bytearray(kws_bytes()), 0)
    graph = model.subgraphs[0]
    weights = graph.tensors[graph.operators[11].inputs[1]]  # FULLY_CONNECTED weights
    weights.type = schema.TensorType.UINT8
    with pytest.raises(UnsupportedModelError, match=r"^unsupported operator 11 \(FULLY_CONNECTED\): weights are uint8"):
        compile_model(repack(model))


def test_two_graph_outputs_are_rejected_with_the_reason():
    model = schema.ModelT.InitFromPackedBuf(bytearray(kws_bytes()), 0)
    graph = model.subgraphs[0]
    graph.outputs = [graph.outputs[0], graph.operators[10].outputs[0]]
    with pytest.raises(UnsupportedModelError, match="2 graph outputs"):
        compile_model(repack(model))
