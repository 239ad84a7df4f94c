"""Shared by the kernel tests: run a model's firmware under QEMU and compare with tflite-micro.

`check_model_bit_exact` builds the firmware the way `tinyrig run` does (for the board's core),
runs seeded random inputs (plus chosen ones) under QEMU and asserts the raw output bytes equal
the interpreter's; `check_host_bit_exact` does the same with a host build (the kernels' C++
paths); `optimised_layers` and `helium_notes` check first that the kernel a test is
about really ran.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyrig.benchmarks import Benchmark
from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.kernels.registry import REFERENCE
from tinyrig.hil.run.profile import run_inferences
from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.fuzz_harness import in_child, run_tflm

HELIUM_BOARD = "qemu-mps3-an547"


def optimised_layers(model: bytes, core: str) -> list[str]:
    return [layer.variant for layer in compile_model(model, core=core).layers
            if layer.variant not in (None, REFERENCE)]


def op_layers(model: bytes, op: str, board: str) -> list:
    """Every `op` layer of `model` compiled for `board`'s core."""
    return [layer for layer in compile_model(model, core=load_board(board).core).layers if layer.op == op]


def layer_notes(model: bytes, op: str, board: str) -> list[str]:
    """The engine's notes (the kernel and path it chose) for every `op` layer on `board`."""
    return [layer.note for layer in op_layers(model, op, board)]


def helium_notes(model: bytes, op: str, board: str = HELIUM_BOARD) -> list[str]:
    """The engine's notes for every `op` layer, after checking Helium ran each of them."""
    layers = op_layers(model, op, board)
    assert layers and all(layer.variant == "arm_mve" for layer in layers), [(l.op, l.variant) for l in layers]
    return [layer.note for layer in layers]


def conv_chain(seed: int, shape: tuple, layers: list[dict], **defaults) -> tuple[bytes, dict]:
    """A model of CONV_2D layers one after the other on an input of `shape`, each layer's options
    over `defaults`, its weights and quantisations drawn from `seed`."""
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = x
    for options in layers:
        y = tb.conv2d(mb, y, **{**defaults, **options})
    return tb.finish_model(mb, [x], y, seed=seed)


def fuzz_benchmark(model: bytes) -> tuple[Benchmark, object]:
    """A stand-in benchmark whose input size is the random model's (the firmware glue needs one)."""
    compiled = compile_model(model)
    floats = compiled.input.dtype == "float32"
    return Benchmark("fuzz", "random model", "fuzz.tflite", compiled.input.nbytes,
                     "float32_quantize" if floats else "int8_copy", "scores", 1, 0, "top1", 0.0), compiled


def conv_model_taking(seeds: range, shape: tuple, taken, **conv) -> tuple[bytes, dict, int, str]:
    """A one-CONV_2D model on input `shape` (options `conv`) for the first seed in `seeds` whose
    layer note, compiled for a Cortex-M4, satisfies `taken(note)`: random quantisations
    sometimes fall outside the DSP epilogue's range and the layer is declined. Returns the
    model, its description, the seed and the note."""
    notes = []
    for seed in seeds:
        mb = tb.ModelBuilder(np.random.default_rng(seed))
        x = mb.input((1, *shape))
        y = tb.conv2d(mb, x, dilation=(1, 1), **conv)
        model, desc = tb.finish_model(mb, [x], y, seed=seed)
        notes = [layer.note for layer in compile_model(model, core="cortex-m4").layers if layer.op == "CONV_2D"]
        if len(notes) == 1 and taken(notes[0]):
            return model, desc, seed, notes[0]
    raise AssertionError(f"no seed in {seeds} takes the expected path: {notes}")


def check_host_bit_exact(compiled, model: bytes, seed: int, tmp_path: Path, count: int = 3) -> None:
    """`count` seeded random inputs through a host build of `compiled` (a model compiled for a
    core: its kernels' C++ paths) and through tflite-micro: the outputs must be equal."""
    from tinyrig.codegen.hostbuild import HostModel

    host = HostModel.build(compiled, workdir=tmp_path)
    batch = np.random.default_rng([seed, 2]).integers(-128, 128, size=(count, *host.input_shape)).astype(np.int8)
    got = np.asarray(host.run(batch)).reshape(-1)
    want = np.asarray(in_child(run_tflm, model, [batch])).reshape(-1)
    assert np.array_equal(got, want), f"seed {seed}: first differing {np.flatnonzero(got != want)[:5]}"


def check_model_bit_exact(board_name: str, model: bytes, desc: dict, seed: int, tmp_path: Path,
                          extra_inputs: np.ndarray | None = None, code_for: str | None = None):
    """3 seeded random inputs (plus `extra_inputs`, a batch of chosen ones) through the
    firmware under QEMU and through tflite-micro: the raw outputs must be equal. `code_for`: a
    board whose firmware to build for `board_name` instead (its flash cache's loop sizes, its
    constants in RAM). Returns the firmware (project and build) for further checks."""
    from tinyrig.build.firmware_cache import prepare_firmware

    board = load_board(board_name)
    benchmark, compiled = fuzz_benchmark(model)
    rng = np.random.default_rng([seed, 1])
    batch = tb.random_inputs(rng, desc["inputs"][0], 3)
    if extra_inputs is not None:
        batch = np.concatenate([batch, np.asarray(extra_inputs, dtype=batch.dtype)])
    expected = in_child(run_tflm, model, [batch])
    path = tmp_path / "fuzz.tflite"
    path.write_bytes(model)
    firmware = prepare_firmware(board, benchmark, path, out_dir=tmp_path / "fw",
                                code_for=load_board(code_for) if code_for else None)
    inputs = [np.ascontiguousarray(x, dtype=compiled.input.dtype).tobytes() for x in batch]
    results = run_inferences(board, firmware.build.elf, inputs)
    for n, result in enumerate(results):
        got = np.frombuffer(result.raw_output, dtype=compiled.output.dtype)
        assert np.array_equal(got, expected[n].reshape(-1)), (
            f"seed {seed} ({desc['ops']}) on {board_name}: input {n} differs; "
            f"first indices {np.flatnonzero(got != expected[n].reshape(-1))[:5].tolist()}")
    return firmware


def symbol_sizes(elf: Path, pattern: str) -> list[int]:
    """The sizes of the functions or objects in `elf` whose demangled names match `pattern`."""
    import re
    import subprocess

    symbols = subprocess.run(["arm-none-eabi-nm", "-S", "-C", str(elf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    found = re.compile(pattern)
    return [int(line.split()[1], 16) for line in symbols if found.search(line)]
