"""Inputs per second in accuracy mode: the standard `db` path vs tinyrig's fast paths, under QEMU
(semihosting `tinyrig load`) and under Renode (the input written through Renode's monitor).

Runs the same benchmark on each emulator's Cortex-M4 board and times `load + infer 1 0` over a
number of seeded random inputs, once per path, then prints a table. Needs the reference models
(`--models DIR` or $TINYRIG_MODELS); the Renode columns need Renode (PATH or $TINYRIG_RENODE)
and read "-" without it.

    python benchmarks/accuracy_throughput.py --inputs 20
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

from tinyrig.benchmarks import STANDARD_BENCHMARKS, get_benchmark
from tinyrig.boards import DEFAULT_BOARD, load_board
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.hil.dut.client import Dut
from tinyrig.hil.dut.inputs import random_inputs
from tinyrig.hil.dut.loading import DbLoader, RenodeMonitorLoader, SemihostLoader
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.hil.targets.qemu import QemuTarget
from tinyrig.hil.targets.renode import RenodeError, RenodeTarget, renode_binary
from tinyrig.models import find_model

RENODE_BOARD = "renode-stm32f4-discovery"  # Cortex-M4F like the default QEMU board


def measure(target, elf, make_loader: Callable, inputs) -> float:
    """Inputs per second; `make_loader(run)` builds the loader once the emulator runs."""
    loader = None
    try:
        run = target.start(elf)
        loader = make_loader(run)
        with Dut(run.url) as dut:
            dut.open()
            started = time.perf_counter()
            for item in inputs:
                loader.load(dut, item.data)
                dut.infer(1, 0)
            return len(inputs) / (time.perf_counter() - started)
    finally:
        if loader is not None:
            loader.close()
        target.stop()


def both_paths(make_target: Callable, elf, fast_loader: Callable, inputs) -> tuple[float, float]:
    db = measure(make_target(), elf, lambda run: DbLoader(), inputs)
    fast = measure(make_target(), elf, fast_loader, inputs)
    return db, fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default=DEFAULT_BOARD, help="the QEMU board")
    parser.add_argument("--renode-board", default=RENODE_BOARD)
    parser.add_argument("--benchmark", default=",".join(STANDARD_BENCHMARKS))
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--models", default=None)
    args = parser.parse_args()
    board, renode_board = load_board(args.board), load_board(args.renode_board)
    try:
        renode_binary()
        with_renode = True
    except RenodeError as exc:
        print(f"Renode columns skipped: {exc}")
        with_renode = False
    print(f"{'':22} {'QEMU (' + board.name + ')':^36} {'Renode (' + renode_board.name + ')':^38}")
    print(f"{'benchmark':10} {'bytes/input':>11} {'db':>10} {'semihost':>10} {'speed-up':>9}   "
          f"{'db':>10} {'monitor':>10} {'speed-up':>9}   (inputs/s)")
    for bid in args.benchmark.split(","):
        bench = get_benchmark(bid)
        model = find_model(bid, args.models)
        scale, zero_point = ReferenceModel(model, bench).input_quantization()
        inputs = random_inputs(bench, args.inputs, 0, scale, zero_point)
        elf = prepare_firmware(board, bench, model, "perf").build.elf
        q_db, q_fast = both_paths(lambda: QemuTarget(board), elf, lambda run: SemihostLoader(), inputs)
        renode_cells = f"{'-':>10} {'-':>10} {'-':>9}"
        if with_renode:
            renode_elf = prepare_firmware(renode_board, bench, model, "perf").build.elf
            r_db, r_fast = both_paths(lambda: RenodeTarget(renode_board), renode_elf,
                                      lambda run: RenodeMonitorLoader(run.monitor, run.elf), inputs)
            renode_cells = f"{r_db:>10.2f} {r_fast:>10.2f} {r_fast / r_db:>8.1f}x"
        print(f"{bid:10} {bench.input_bytes:>11} {q_db:>10.2f} {q_fast:>10.2f} {q_fast / q_db:>8.1f}x   {renode_cells}",
              flush=True)


if __name__ == "__main__":
    main()
