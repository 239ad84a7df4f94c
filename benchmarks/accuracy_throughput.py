"""Inputs per second in accuracy mode: the standard `db` path vs tinyrig's semihosting fast path.

Runs the same firmware under QEMU for each benchmark and times `load + infer 1 0` over a number
of seeded random inputs, once per path, then prints a table. Needs the reference models
(`--models DIR` or $TINYRIG_MODELS).

    python benchmarks/accuracy_throughput.py --inputs 20
"""

from __future__ import annotations

import argparse
import time

from tinyrig.benchmarks import STANDARD_BENCHMARKS, get_benchmark
from tinyrig.boards import DEFAULT_BOARD, load_board
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.hil.dut.client import Dut
from tinyrig.hil.dut.inputs import random_inputs
from tinyrig.hil.dut.loading import DbLoader, SemihostLoader
from tinyrig.hil.targets.qemu import QemuTarget
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.models import find_model


def measure(board, elf, loader, inputs) -> float:
    target = QemuTarget(board)
    try:
        run = target.start(elf)
        with Dut(run.url) as dut:
            dut.open()
            started = time.perf_counter()
            for item in inputs:
                loader.load(dut, item.data)
                dut.infer(1, 0)
            return len(inputs) / (time.perf_counter() - started)
    finally:
        loader.close()
        target.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default=DEFAULT_BOARD)
    parser.add_argument("--benchmark", default=",".join(STANDARD_BENCHMARKS))
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--models", default=None)
    args = parser.parse_args()
    board = load_board(args.board)
    print(f"{'benchmark':10} {'bytes/input':>11} {'db (inputs/s)':>14} {'fast (inputs/s)':>16} {'speed-up':>9}")
    for bid in args.benchmark.split(","):
        bench = get_benchmark(bid)
        model = find_model(bid, args.models)
        firmware = prepare_firmware(board, bench, model, "perf")
        scale, zero_point = ReferenceModel(model, bench).input_quantization()
        inputs = random_inputs(bench, args.inputs, 0, scale, zero_point)
        db = measure(board, firmware.build.elf, DbLoader(), inputs)
        fast = measure(board, firmware.build.elf, SemihostLoader(), inputs)
        print(f"{bid:10} {bench.input_bytes:>11} {db:>14.2f} {fast:>16.2f} {fast / db:>8.1f}x")


if __name__ == "__main__":
    main()
