#!/usr/bin/env python3
"""Differential fuzzing of the optimised kernels under QEMU against TensorFlow Lite Micro.

    python benchmarks/fuzz_kernels_qemu.py --models 40 [--seed 1000] [--boards a,b] [--inputs 4]
                                           [--shapes kernels|any]

For each board (default: qemu-mps2-an386 for the DSP kernels, qemu-mps3-an547 for
Helium) and each seed, a random chain model is built around one of the ops the
optimised kernels cover (tests/tinyrig_testing/tflite_builder.py, cycling CONV_2D,
DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, AVERAGE_POOL_2D), compiled for the board's
core, built and run under QEMU on random inputs; the raw output bytes must equal the
interpreter's. Models where every layer fell back to the portable kernels are
skipped (counted).

The models are drawn with random_model's shapes="kernels" (channel counts mostly in
fours and eights, 1x1 / 3x3 / kx1 filters, requantisation shifts at the DSP epilogue's
limits): the shapes real models have and the specialised kernels take. Before it
(--shapes any, the old draws) the 2x4-block kernels were never reached; seeds of the
default therefore name other models than they did then.

Prints per board the optimised layers exercised by variant and op, then one line per
kernel registered for the board's core (codegen/kernels/registry.py) with the layers
that ran on it and on each of its paths, 0 where none did (a finding for the
generator: that kernel went untested), and last

    models tested: N / mismatches: M

The exit status is 1 if anything mismatched or failed.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the test helpers package, tinyrig_testing

from tinyrig_testing import tflite_builder as tb  # noqa: E402
from tinyrig_testing.kernel_reach import ReachCounter  # noqa: E402
from tinyrig_testing.fuzz_harness import in_child, run_tflm  # noqa: E402

from tinyrig.benchmarks import Benchmark  # noqa: E402
from tinyrig.boards import load_board  # noqa: E402
from tinyrig.codegen.engine import compile_model  # noqa: E402
from tinyrig.codegen.kernels.registry import CORE_FAMILIES, REFERENCE  # noqa: E402
from tinyrig.build.firmware_cache import prepare_firmware  # noqa: E402
from tinyrig.hil.run.profile import run_inferences  # noqa: E402

OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D")


def check(board, seed: int, op: str, inputs: int, workdir: Path, shapes: str,
          reach: ReachCounter) -> tuple[str, list[str]]:
    """'ok', 'skipped' (nothing optimised) or a mismatch/failure description; the
    optimised layers as 'variant:op'. Counts the kernels the model reaches in `reach`."""
    model, desc = tb.random_model(seed, op=op, chain=True, shapes=shapes)
    compiled = compile_model(model, core=board.core)
    reach.add(model)
    optimised = [f"{layer.variant}:{layer.op}" for layer in compiled.layers
                 if layer.variant not in (None, REFERENCE)]
    if not optimised:
        return "skipped", []
    floats = compiled.input.dtype == "float32"
    benchmark = Benchmark("fuzz", "random model", "fuzz.tflite", compiled.input.nbytes,
                          "float32_quantize" if floats else "int8_copy", "scores", 1, 0, "top1", 0.0)
    batch = tb.random_inputs(np.random.default_rng([seed, 1]), desc["inputs"][0], inputs)
    expected = in_child(run_tflm, model, [batch])
    path = workdir / f"{seed}.tflite"
    path.write_bytes(model)
    firmware = prepare_firmware(board, benchmark, path, out_dir=workdir / f"fw-{seed}")
    data = [np.ascontiguousarray(x, dtype=compiled.input.dtype).tobytes() for x in batch]
    results = run_inferences(board, firmware.build.elf, data)
    for n, result in enumerate(results):
        got = np.frombuffer(result.raw_output, dtype=compiled.output.dtype)
        if not np.array_equal(got, expected[n].reshape(-1)):
            kernels = ", ".join(f"{kernel} {path}" for kernel, path in reach.last)
            return f"seed {seed} ({desc['ops']}; {kernels}): input {n} differs", optimised
    return "ok", optimised


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=40, help="random models per board")
    ap.add_argument("--seed", type=int, default=1000, help="first seed (model i uses seed+i)")
    ap.add_argument("--boards", default="qemu-mps2-an386,qemu-mps3-an547")
    # random_inputs cycles uniform, narrow, uniform, extreme (-128 / 127 with zero points), ...: 4
    # inputs include the saturating one.
    ap.add_argument("--inputs", type=int, default=4, help="random inputs per model (default 4)")
    ap.add_argument("--shapes", choices=tb.SHAPES, default="kernels",
                    help="random_model's draws: 'kernels' (default) or 'any', the shapes before it")
    args = ap.parse_args(argv)
    started = time.monotonic()
    tested = mismatches = 0
    for name in args.boards.split(","):
        board = load_board(name)
        layers: collections.Counter = collections.Counter()
        reach = ReachCounter(board.core)
        skipped = 0
        with tempfile.TemporaryDirectory(prefix="tinyrig-kfuzz-") as tmp:
            for i in range(args.models):
                seed, op = args.seed + i, OPS[i % len(OPS)]
                try:
                    outcome, optimised = check(board, seed, op, args.inputs, Path(tmp), args.shapes, reach)
                except Exception as exc:  # a build or run failure is a finding too
                    outcome, optimised = f"seed {seed} ({op}): {type(exc).__name__}: {exc}", []
                layers.update(optimised)
                if outcome == "skipped":
                    skipped += 1
                    continue
                tested += 1
                if outcome != "ok":
                    mismatches += 1
                    print(f"{name}: MISMATCH {outcome}", flush=True)
        exercised = ", ".join(f"{key} x{count}" for key, count in sorted(layers.items()))
        print(f"{name}: {args.models - skipped} models compared, {skipped} with nothing optimised; "
              f"optimised layers: {exercised}", flush=True)
        print(f"{name}: layers per kernel registered for {board.core} (paths in brackets):\n{reach.report()}",
              flush=True)
        families = CORE_FAMILIES.get(board.core, ())
        for family in families:
            unreached = [kernel for kernel in reach.unreached() if kernel.startswith(f"{family}:")]
            fallback = f", which takes only what {families[0]} declines" if family != families[0] else ""
            if unreached:
                print(f"{name}: never reached ({family}{fallback}): {', '.join(unreached)}", flush=True)
    print(f"models tested: {tested} / mismatches: {mismatches}  ({time.monotonic() - started:.0f} s)")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
