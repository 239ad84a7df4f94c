"""QUANTIZE / DEQUANTIZE at the model boundary: ad01 wrapped into a float-in, float-out
model, fed real spectrogram windows and rounding-edge floats, compared bit for bit."""

from __future__ import annotations

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinyrig_testing.engine_reference_data import SAMPLES_DIR, reference_model_path, run_interpreter
from tinyrig.codegen.hostbuild import HostModel


def float_wrapped_ad01() -> bytes:
    model = schema.ModelT.InitFromPackedBuf(bytearray(reference_model_path("ad01").read_bytes()), 0)
    graph = model.subgraphs[0]
    int8_in, int8_out = graph.inputs[0], graph.outputs[0]

    def add_opcode(builtin: int) -> int:
        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = builtin
        code.version = 1
        model.operatorCodes.append(code)
        return len(model.operatorCodes) - 1

    def add_float_tensor(name: str, shape) -> int:
        model.buffers.append(schema.BufferT())
        tensor = schema.TensorT()
        tensor.name, tensor.shape, tensor.type = name.encode(), list(shape), schema.TensorType.FLOAT32
        tensor.buffer = len(model.buffers) - 1
        graph.tensors.append(tensor)
        return len(graph.tensors) - 1

    def operator(opcode: int, source: int, target: int) -> "schema.OperatorT":
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = opcode, [source], [target]
        return op

    float_in = add_float_tensor("features_f32", graph.tensors[int8_in].shape)
    float_out = add_float_tensor("reconstruction_f32", graph.tensors[int8_out].shape)
    graph.operators.insert(0, operator(add_opcode(schema.BuiltinOperator.QUANTIZE), float_in, int8_in))
    graph.operators.append(operator(add_opcode(schema.BuiltinOperator.DEQUANTIZE), int8_out, float_out))
    graph.inputs, graph.outputs = [float_in], [float_out]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.fixture(scope="module")
def float_model(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ad01-float")
    path = directory / "ad01_float.tflite"
    path.write_bytes(float_wrapped_ad01())
    return path, HostModel.build(path, workdir=directory / "build")


def test_generated_header_declares_float_io(float_model):
    _, host = float_model
    header = host.compiled.files["tinyrig_model.h"]
    assert "#define TINYRIG_MODEL_INPUT_IS_FLOAT    1" in header
    assert "#define TINYRIG_MODEL_OUTPUT_IS_FLOAT   1" in header
    assert "#define TINYRIG_MODEL_INPUT_BYTES       2560" in header


def test_float_io_is_bit_exact(float_model):
    path, host = float_model
    # The int8 tensor behind the QUANTIZE sets the grid the rounding edges sit on.
    scale = np.float32(0.39101523)
    rng = np.random.default_rng(11)
    halfway = ((rng.integers(-200, 200, size=(8, 640)) + 0.5) * scale).astype(np.float32)
    on_grid = (rng.integers(-200, 200, size=(8, 640)) * scale).astype(np.float32)
    wide = rng.normal(0.0, 80.0, size=(8, 640)).astype(np.float32)
    batches = [halfway, on_grid, wide, -halfway]
    sample = SAMPLES_DIR / "ad01" / "normal_id_01_00000000_hist_librosa.bin"
    if sample.is_file():
        spectrogram = np.frombuffer(sample.read_bytes(), dtype="<f4")
        batches.append(spectrogram[: spectrogram.size // 640 * 640].reshape(-1, 640))
    inputs = np.concatenate(batches).reshape(-1, *host.input_shape).astype(np.float32)
    expected = run_interpreter(path, inputs).reshape((len(inputs), *host.output_shape))
    got = host.run(inputs)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.view(np.uint32), expected.astype(np.float32).view(np.uint32))
