"""Inputs per second in accuracy mode: the standard `db` path vs tinyrig's fast paths, under QEMU
(semihosting `tinyrig load`, and `tinyrig batch`: many inputs per command) and under Renode (the
input written through Renode's monitor).

Runs the same benchmark on each emulator's Cortex-M4 board and times `load + infer 1 0` over a
number of seeded random inputs, once per path (the batch column: the same inputs in one
`tinyrig batch`), then prints a table. Needs the reference models (`--models DIR` or
$TINYRIG_MODELS); the Renode columns need Renode (PATH or $TINYRIG_RENODE) and read "-" without it.

    python benchmarks/accuracy_throughput.py --inputs 20

`--full-size` runs the official-size accuracy suite instead, the way `tinyrig run --mode accuracy`
does under QEMU (batched inputs, every output checked against tflite-micro in worker processes):
1,000 kws01, 1,000 vww01 and 200 ic01 inputs and every 2,560-byte window of the 248 ad01 test
files, named and labelled as the official index files (/work/shared/mlperf-tiny/labels or
--labels) say, with seeded data of the right shapes (the official data files are not shipped;
ad01's are the real sample spectrogram plus seeded noise). Exits 1 when any output differs.

    python benchmarks/accuracy_throughput.py --full-size [--benchmark kws01,ad01] [--dataset DIR]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from tinyrig.benchmarks import STANDARD_BENCHMARKS, get_benchmark
from tinyrig.boards import DEFAULT_BOARD, load_board
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.hil.dut.client import Dut
from tinyrig.hil.dut.inputs import random_inputs
from tinyrig.hil.dut.loading import (DbLoader, RenodeMonitorLoader, SemihostBatcher, SemihostLoader,
                                     choose_batcher)
from tinyrig.hil.dut.dataset import read_index
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.hil.dut.reference_pool import ReferencePool, default_workers
from tinyrig.hil.modes.accuracy import run_accuracy, summarize
from tinyrig.hil.modes.accuracy_batched import run_accuracy_batched
from tinyrig.hil.targets.qemu import QemuTarget
from tinyrig.hil.targets.renode import RenodeError, RenodeTarget, renode_binary
from tinyrig.models import find_model

OFFICIAL_LABELS = Path("/work/shared/mlperf-tiny/labels")
AD01_SAMPLE = OFFICIAL_LABELS.parent / "samples" / "ad01" / "normal_id_01_00000000_hist_librosa.bin"
AD01_FILE_VALUES = 25600  # float32 values per ad01 test file, as the sample has

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


def measure_batch(board, elf, inputs) -> float:
    """Inputs per second of the same inputs in one `tinyrig batch` command."""
    target = QemuTarget(board)
    try:
        run = target.start(elf)
        with Dut(run.url) as dut:
            dut.open()
            batcher = SemihostBatcher(len(inputs[0].data))
            try:
                started = time.perf_counter()
                batcher.run_inputs(dut, [item.data for item in inputs])
                return len(inputs) / (time.perf_counter() - started)
            finally:
                batcher.close()
    finally:
        target.stop()


def both_paths(make_target: Callable, elf, fast_loader: Callable, inputs) -> tuple[float, float]:
    db = measure(make_target(), elf, lambda run: DbLoader(), inputs)
    fast = measure(make_target(), elf, fast_loader, inputs)
    return db, fast


def write_seeded_dataset(root: Path, bench, labels: Path, scale: float, zero_point: int) -> None:
    """`root/<id>/` as the official index names it, with seeded data of the benchmark's format."""
    folder = root / bench.id
    index = labels / bench.id / "y_labels.csv"
    if (folder / "y_labels.csv").is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rows = [line.split(",") for line in index.read_text().splitlines() if line.strip()]
    rng = np.random.default_rng([0, sum(map(ord, bench.id))])
    if bench.id == "ad01":
        base = np.fromfile(AD01_SAMPLE, dtype="<f4") if AD01_SAMPLE.is_file() else \
            rng.normal(-30, 5, AD01_FILE_VALUES).astype("<f4")
        for row in rows:
            noise = rng.normal(0, 2 if row[2] == "0" else 10, base.size)
            (base + noise).astype("<f4").tofile(folder / row[0])
    else:
        for i, data in enumerate(random_inputs(bench, len(rows), 0, scale, zero_point)):
            (folder / rows[i][0]).write_bytes(data.data)
    (folder / "y_labels.csv").write_text(index.read_text())


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (QEMU, the reference workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def one_at_a_time(dut, bench, files, loader, reference, inputs: int) -> float:
    """Inputs per second of the path the batch replaces (`tinyrig load` + `infer 1 0` + `tinyrig raw`
    per input, the reference inline), over the index's first files (about `inputs` inputs)."""
    first, count = [], 0
    for item in files:
        first.append(item)
        count += len(item.windows())
        if count >= inputs:
            break
    started = time.perf_counter()
    results = run_accuracy(dut, bench, first, load=loader.load, reference=reference)
    if sum(r.bit_exact for r in results) != sum(r.checked for r in results):
        raise SystemExit(f"{bench.id}: the one-at-a-time path disagrees with the reference")
    return count / (time.perf_counter() - started)


def full_size(args) -> int:
    board = load_board(args.board)
    root = args.dataset or Path(tempfile.gettempdir()) / "tinyrig-accuracy-suite"
    print(f"board {board.name}, dataset {root} (seeded, official names and counts), "
          f"reference workers {default_workers()}")
    print(f"{'':26} {'one at a time':>14}   {'batched, whole index':^38}")
    print(f"{'benchmark':10} {'files':>6} {'inputs':>7} {'inputs/s':>14}   {'wall s':>8} {'inputs/s':>9} "
          f"{'speed-up':>9} {'CPU s':>6}  check")
    mismatched = total_wall = 0.0
    for bid in args.benchmark.split(","):
        bench = get_benchmark(bid)
        model = find_model(bid, args.models)
        reference = ReferenceModel(model, bench)
        write_seeded_dataset(root, bench, args.labels, *reference.input_quantization())
        files = read_index(bench, root)
        elf = prepare_firmware(board, bench, model, "perf").build.elf
        cpu_before = cpu_seconds()
        target = QemuTarget(board)
        try:
            run = target.start(elf)
            with Dut(run.url) as dut, ReferencePool(reference) as pool:
                dut.open()
                loader = SemihostLoader()
                batcher = choose_batcher(dut, loader.load, bench.input_bytes)
                if batcher is None:
                    raise SystemExit(f"{elf}: the firmware does not announce `tinyrig batch`")
                pool.submit([]).result()  # the workers' start-up (imports, interpreter) is not the bench's
                before = one_at_a_time(dut, bench, files, loader, reference, args.compare)
                started = time.perf_counter()
                try:
                    results = run_accuracy_batched(dut, files, batcher, reference=pool)
                finally:
                    batcher.close()
                    loader.close()
                wall = time.perf_counter() - started
        finally:
            target.stop()
        cpu = cpu_seconds() - cpu_before  # QEMU, reference workers and the bench, the comparison included
        summary = summarize(bench, results, files[0].num_classes)
        check = (f"bit-exact vs reference: {summary.bit_exact}/{summary.checked}" if summary.bit_exact == summary.checked
                 else f"MISMATCH: {summary.checked - summary.bit_exact} of {summary.checked} differ from the reference")
        mismatched += summary.checked - summary.bit_exact
        total_wall += wall
        rate = summary.inputs / wall
        print(f"{bid:10} {summary.files:>6} {summary.inputs:>7} {before:>14.1f}   {wall:>8.1f} {rate:>9.1f} "
              f"{rate / before:>8.1f}x {cpu:>6.1f}  {check}", flush=True)
    print(f"{'suite':10} {'':>6} {'':>7} {'':>14}   {total_wall:>8.1f}")
    return 1 if mismatched else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default=DEFAULT_BOARD, help="the QEMU board")
    parser.add_argument("--renode-board", default=RENODE_BOARD)
    parser.add_argument("--benchmark", default=",".join(STANDARD_BENCHMARKS))
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--models", default=None)
    parser.add_argument("--full-size", action="store_true", help="the official-size accuracy suite (see above)")
    parser.add_argument("--dataset", type=Path, default=None,
                        help="--full-size: where the seeded dataset is written (reused when there)")
    parser.add_argument("--compare", type=int, default=100,
                        help="--full-size: inputs timed the one-at-a-time way first, for the speed-up")
    parser.add_argument("--labels", type=Path, default=OFFICIAL_LABELS, help="--full-size: the official index files")
    args = parser.parse_args()
    if args.full_size:
        sys.exit(full_size(args))
    board, renode_board = load_board(args.board), load_board(args.renode_board)
    try:
        renode_binary()
        with_renode = True
    except RenodeError as exc:
        print(f"Renode columns skipped: {exc}")
        with_renode = False
    print(f"{'':22} {'QEMU (' + board.name + ')':^47} {'Renode (' + renode_board.name + ')':^38}")
    print(f"{'benchmark':10} {'bytes/input':>11} {'db':>10} {'semihost':>10} {'batch':>10} {'speed-up':>9}   "
          f"{'db':>10} {'monitor':>10} {'speed-up':>9}   (inputs/s)")
    for bid in args.benchmark.split(","):
        bench = get_benchmark(bid)
        model = find_model(bid, args.models)
        scale, zero_point = ReferenceModel(model, bench).input_quantization()
        inputs = random_inputs(bench, args.inputs, 0, scale, zero_point)
        elf = prepare_firmware(board, bench, model, "perf").build.elf
        q_db, q_fast = both_paths(lambda: QemuTarget(board), elf, lambda run: SemihostLoader(), inputs)
        q_batch = measure_batch(board, elf, inputs)
        renode_cells = f"{'-':>10} {'-':>10} {'-':>9}"
        if with_renode:
            renode_elf = prepare_firmware(renode_board, bench, model, "perf").build.elf
            r_db, r_fast = both_paths(lambda: RenodeTarget(renode_board), renode_elf,
                                      lambda run: RenodeMonitorLoader(run.monitor, run.elf), inputs)
            renode_cells = f"{r_db:>10.2f} {r_fast:>10.2f} {r_fast / r_db:>8.1f}x"
        print(f"{bid:10} {bench.input_bytes:>11} {q_db:>10.2f} {q_fast:>10.2f} {q_batch:>10.2f} "
              f"{q_batch / q_db:>8.1f}x   {renode_cells}", flush=True)


if __name__ == "__main__":
    main()
