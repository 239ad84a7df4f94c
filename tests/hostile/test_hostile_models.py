"""Hostile model files through `tinyrig inspect`, `generate` and `export`: one line naming the file and
the tensor, exit status 3 (a model tinyrig cannot read or compile), checked in the reader before
anything is generated."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tinyrig_testing import hostile_models as hm
from tinyrig_testing.hostile_support import assert_clear, assert_ok, invoke

MODEL_EXIT = 3

FAULTS = {
    "scale-zero": (lambda: hm.with_scale(0.0), ["scale 0.0", "finite and > 0"]),
    "scale-nan": (lambda: hm.with_scale(float("nan")), ["scale nan"]),
    "scale-inf": (lambda: hm.with_scale(float("inf")), ["scale inf"]),
    "scale-negative": (lambda: hm.with_scale(-0.5), ["scale -0.5"]),
    "input-scale-zero": (lambda: hm.with_scale(0.0, "input"), ["tensor 0", "scale 0.0"]),
    "channel-scale-zero": (lambda: hm.with_scale(0.0, "weights"), ["scale 0.0 (channel 0)"]),
    "zero-point-100000": (lambda: hm.with_zero_point(100000), ["zero point 100000", "-128..127"]),
    "zero-point-minus-129": (lambda: hm.with_zero_point(-129), ["zero point -129"]),
    "zero-point-128": (lambda: hm.with_zero_point(128), ["zero point 128"]),
    "channel-scales-extra": (hm.with_extra_scale, ["per-channel scales"]),
    "quantized-dimension": (lambda: hm.with_quantized_dimension(7), ["dimension 7"]),
    "buffer-index": (lambda: hm.with_buffer_index(99999), ["buffer 99999 out of range"]),
    "shape-empty-dimension": (lambda: hm.with_shape([1, 0, 5, 64]), ["empty dimension"]),
    "shape-dynamic": (lambda: hm.with_shape([1, -1, 5, 64]), ["dynamic shape"]),
    "shape-huge": (lambda: hm.with_shape([100000, 100000, 100000, 64]), ["elements"]),
    "buffer-too-short": (hm.with_short_buffer, ["holds", "needs"]),
    "operator-tensor-index": (lambda: hm.with_operator_input(999), ["references tensor 999"]),
    "opcode-index": (lambda: hm.with_opcode_index(999), ["opcode index 999"]),
    "two-subgraphs": (hm.with_two_subgraphs, ["2 subgraphs"]),
    "truncated": (hm.truncated, ["truncated or corrupt"]),
    "wrong-identifier": (hm.wrong_identifier, ["TFL3"]),
    "random-bytes": (lambda: np.random.default_rng(5).integers(0, 256, 5000, dtype=np.uint8).tobytes(), ["TFL3"]),
    "empty-file": (lambda: b"", ["too short"]),
}


def _args(command: str, model, tmp_path) -> list:
    if command == "inspect":
        return ["inspect", model]
    if command == "export":
        return ["export", "--model", model, "--benchmark", "kws01", "--core", "cortex-m4", "--out", tmp_path / "out"]
    return ["generate", "--model", model, "--benchmark", "kws01", "--out", tmp_path / "out"]


# export read a model it cannot compile as exit 1 (a failed benchmark) until it shared generate's 3.
@pytest.mark.parametrize("command", ["inspect", "generate", "export"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_hostile_model(fault, command, tmp_path, observed):
    make, needles = FAULTS[fault]
    model = tmp_path / "hostile.tflite"
    model.write_bytes(make())
    line = assert_clear(invoke(*_args(command, model, tmp_path), observed=observed), MODEL_EXIT, str(model), *needles)
    assert line.startswith("error: ")
    assert not (tmp_path / "out").exists(), "nothing is generated from a model the reader rejects"


# Models the reader takes but the engine cannot compile. inspect still prints its whole table, then
# says why in one line with status 3; before, it ended with status 1 (a failed benchmark's) and no line.
UNCOMPILABLE = {
    "tanh": (lambda: hm.with_operator(hm.schema.BuiltinOperator.TANH), ["operator 12 (TANH)", "not supported"]),
    "custom-op": (lambda: hm.with_operator(hm.schema.BuiltinOperator.CUSTOM, b"VendorOp"),
                  ["CUSTOM:VendorOp", "not supported"]),
    "two-outputs": (hm.with_two_outputs, ["2 graph outputs"]),
    "int16-activations": (hm.with_int16_activations, ["int16"]),
}


@pytest.mark.parametrize("command", ["inspect", "generate", "export"])
@pytest.mark.parametrize("case", sorted(UNCOMPILABLE))
def test_model_that_does_not_compile(case, command, tmp_path, observed):
    make, needles = UNCOMPILABLE[case]
    model = tmp_path / "vendor.tflite"
    model.write_bytes(make())
    result = invoke(*_args(command, model, tmp_path), observed=observed)
    line = assert_clear(result, MODEL_EXIT, str(model), *needles)
    assert line.startswith("error: ")
    if command == "inspect":
        assert "all supported:  no" in result.out, "the table is still printed"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["inspect", "generate"])
def test_named_pipe_as_model_does_not_block(command, tmp_path, observed):
    fifo = tmp_path / "pipe.tflite"
    os.mkfifo(fifo)
    assert_clear(invoke(*_args(command, fifo, tmp_path), observed=observed), MODEL_EXIT, "not a regular file")


def test_device_file_as_model(tmp_path, observed):
    assert_clear(invoke("inspect", "/dev/zero", observed=observed), MODEL_EXIT, "/dev/zero", "not a regular file")


@pytest.mark.parametrize("command", ["inspect", "generate"])
def test_folder_as_model(command, tmp_path, observed):
    assert_clear(invoke(*_args(command, tmp_path, tmp_path), observed=observed), 2, "is a directory")


def test_missing_model(tmp_path, observed):
    assert_clear(invoke("inspect", tmp_path / "absent.tflite", observed=observed), 2, "does not exist")


@pytest.mark.parametrize("folder", ["[/x]", "[bold]b[/bold]", "e-[infer: ]"])
def test_markup_in_a_good_model_path(folder, tmp_path, observed):
    """Rich markup in a path is shown as it is, never interpreted (it used to raise MarkupError)."""
    (tmp_path / folder).mkdir(parents=True)
    model = tmp_path / folder / "kws01.tflite"
    model.write_bytes(hm.model_bytes())
    out = tmp_path / folder / "out"
    result = invoke("generate", "--model", model, "--out", out, observed=observed)
    assert_ok(result, str(out))
    assert (out / "platformio.ini").is_file()


def test_markup_in_a_bad_model_path(tmp_path, observed):
    (tmp_path / "[/x]").mkdir(parents=True)
    model = tmp_path / "[/x]" / "kws01.tflite"
    model.write_bytes(hm.with_scale(0.0))
    assert_clear(invoke("inspect", model, observed=observed), MODEL_EXIT, str(model), "scale 0.0")


def test_escape_sequence_in_a_model_path(tmp_path, observed):
    """A path holding ESC shows it as \\x1b: nothing reaches the terminal raw."""
    model = tmp_path / "evil\x1b[2J.tflite"
    model.write_bytes(hm.with_zero_point(100000))
    line = assert_clear(invoke("inspect", model, observed=observed), MODEL_EXIT, "zero point 100000")
    assert "evil\\x1b[2J.tflite" in line


def test_out_is_a_file(tmp_path, observed):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    model = tmp_path / "kws01.tflite"
    model.write_bytes(hm.model_bytes())
    assert_clear(invoke("generate", "--model", model, "--out", blocker / "out", observed=observed), 2,
                 "--out", "cannot write the project there")


def test_out_under_proc(tmp_path, observed):
    model = tmp_path / "kws01.tflite"
    model.write_bytes(hm.model_bytes())
    assert_clear(invoke("generate", "--model", model, "--out", "/proc/tinyrig-out", observed=observed), 2,
                 "--out /proc/tinyrig-out", "cannot write the project there")


def test_model_not_named_after_a_benchmark(tmp_path, observed):
    model = tmp_path / "[b]x[-b].tflite"
    model.write_bytes(hm.model_bytes())
    assert_clear(invoke("generate", "--model", model, "--out", tmp_path / "o", observed=observed), 2,
                 "[b]x[-b].tflite", "--benchmark")


@pytest.mark.parametrize("where", ["input", None])
def test_scales_that_overflow_the_requantisation(where, tmp_path, observed):
    """Finite but absurd scales (1e12 on the input, 1e30 on every tensor): tflite-micro's int32
    shift would be undefined, so the firmware could match nothing. Refused with the operator
    named instead of compiled into a run that then disagrees with the reference."""
    model = tmp_path / "hostile.tflite"
    model.write_bytes(hm.with_scale(1e12, where) if where else hm.with_scale(1e30))
    line = assert_clear(invoke(*_args("generate", model, tmp_path), observed=observed), MODEL_EXIT, str(model),
                        "unsupported operator", "left shift")
    assert line.startswith("error: ") and not (tmp_path / "out").exists()
    table = invoke("inspect", model, observed=observed)
    assert "UNSUPPORTED: requantisation multiplier" in table.text
    assert_clear(table, MODEL_EXIT, "cannot be compiled", "left shift")


@pytest.mark.parametrize("command", ["generate", "export"])
def test_output_folder_under_a_file(command, tmp_path, observed, models_dir):
    """--out inside a regular file: one line naming --out (export raised NotADirectoryError)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    args = [command, "--model", models_dir / "kws01.tflite", "--out", blocker / "lib"]
    if command == "export":
        args += ["--core", "cortex-m4"]
    assert_clear(invoke(*args, observed=observed), 2, "--out", "Not a directory")
