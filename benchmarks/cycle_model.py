"""The QEMU cycle model: documented sequences, the four benchmarks on both emulated boards, a
real-MCU prediction, and what the model costs.

    python benchmarks/cycle_model.py [--models DIR] [--benchmarks kws01,...] [--cost-iterations N]

1. Short sequences whose cycles the Cortex-M4 TRM states (load pipelining, LDM, taken / not-taken
   branches, TBB, IT folding, unaligned accesses, FPU ...), and the rules of the M7 and M55
   approximations: model vs documentation per sequence.
2. kws01, vww01, ic01, ad01 on qemu-mps2-an386 (Cortex-M4), qemu-mps2-an500 (Cortex-M7) and
   qemu-mps3-an547 (Cortex-M55), one
   seeded random input each (th_pre..th_post, as `tinyrig run` measures): instructions,
   estimated cycles, cycles per MAC, CPI, and the share of cycles in loads/stores, multiplies and
   branches (flash fetch stalls and the rest make up 100%).
3. The firmware each MCU with [timing] would run (nucleo-l4r5zi: STM32L4R5 at 120 MHz, 5 flash
   wait states; b-l475e-iot01a: STM32L475 at 80 MHz, 4; both with ST's ART accelerator, loops sized
   for its 1 KB instruction cache; nucleo-h7a3zi-q: the Cortex-M7 STM32H7A3 at 280 MHz, 6, behind
   its L1 caches; the constants in RAM as far as they fit), built for the emulated board of its core
   and timed as that MCU, as `tinyrig run --predict` does: estimated latency beside
   the same firmware at zero wait states, and under the other reading of the RM's instruction-cache
   rule (the board files take prefetched lines as cached; the literal reading does not).
4. Cost: QEMU's host CPU time for N inferences of ic01 without the plugin, with it (instruction
   counts only), with the cycle model, and with the flash model.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.hil.targets.cycle_model import cycle_model_for
from tinyrig.hil.targets.cycle_sequences import M4_SEQUENCES, M7_SEQUENCES, M55_SEQUENCES, run_sequences
from tinyrig.hil.dut.client import Dut, input_file_bytes
from tinyrig.hil.dut.inputs import random_inputs
from tinyrig.hil.run.predict import firmware_for, predict
from tinyrig.hil.run.profile import run_inferences
from tinyrig.hil.targets.qemu import QemuTarget
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.models import find_model

BOARDS = ("qemu-mps2-an386", "qemu-mps2-an500", "qemu-mps3-an547")
BENCHMARKS = ("kws01", "vww01", "ic01", "ad01")
PREDICTED = ("nucleo-l4r5zi", "b-l475e-iot01a", "nucleo-h7a3zi-q")


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in [header] + rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def sequences_section() -> bool:
    an386, an500, an547 = (load_board(name) for name in BOARDS)
    ok = True
    for title, results in (("Cortex-M4, Technical Reference Manual", run_sequences(an386, M4_SEQUENCES)),
                           ("Cortex-M7 dual-issue approximation", run_sequences(an500, M7_SEQUENCES)),
                           ("Cortex-M55 dual-beat approximation", run_sequences(an547, M55_SEQUENCES))):
        rows = [[r.sequence.name, r.instructions, r.cycles, r.sequence.expected, "yes" if r.matches else "NO",
                 r.sequence.source] for r in results]
        ok &= all(r.matches for r in results)
        print(f"\n{title}: model vs documented cycles per sequence")
        print(table(["sequence", "instr", "model", "documented", "equal", "source"], rows))
    return ok


def prepare(board, benchmark_id: str, models: Path | None):
    bench = get_benchmark(benchmark_id)
    model_path = find_model(bench.id, models)
    firmware = prepare_firmware(board, bench, model_path)
    reference = ReferenceModel(model_path, bench)
    scale, zero_point = reference.input_quantization()
    data = random_inputs(bench, 1, seed=0, input_scale=scale, input_zero_point=zero_point)[0].data
    macs = compile_model(model_path.read_bytes(), core=board.core).total_macs
    return firmware, data, macs


def models_section(benchmarks: list[str], models: Path | None) -> None:
    rows, predictions = [], {name: [] for name in PREDICTED}
    mcus = [load_board(name) for name in PREDICTED]
    for board_name in BOARDS:
        board = load_board(board_name)
        for bid in benchmarks:
            firmware, data, macs = prepare(board, bid, models)
            r = run_inferences(board, firmware.build.elf, [data], cycle_model=cycle_model_for(board))[0]
            s = r.cycle_split
            share = lambda part: f"{100 * part / r.cycles:.1f}%"  # noqa: E731
            rows.append([board_name, bid, f"{r.instructions:,}", f"{r.cycles:,}", f"{r.cycles / macs:.3f}",
                         f"{r.cycles / r.instructions:.3f}", share(s.load_store), share(s.multiply), share(s.branch)])
            for mcu in (m for m in mcus if m.core == board.core):
                predictions[mcu.name].append(predict_row(board, mcu, bid, firmware, data, models))
    print("\nBenchmarks: one inference (th_pre..th_post), zero wait states")
    print(table(["board", "bench", "instructions", "est. cycles", "cycles/MAC", "CPI", "loads/stores", "multiplies",
                 "branches"], rows))
    emulated = {load_board(name).core: name for name in BOARDS}
    for mcu in mcus:
        print(f"\nPrediction: the {mcu.core} firmware {mcu.name} would run, on {emulated[mcu.core]} timed as "
              f"{mcu.name} ({mcu.clock_hz / 1e6:.0f} MHz, {mcu.timing.flash_wait_states} flash wait states, "
              f"{mcu.ram.size // 1024} KiB of RAM)")
        print(table(["bench", "zero-wait cycles", "ms", "with flash", "ms", "fetch stalls",
                     "ms if prefetched lines not cached", "constants in RAM"], predictions[mcu.name]))


def predict_row(board, mcu, bid: str, firmware, data: bytes, models: Path | None) -> list[str]:
    """One benchmark timed as `mcu` on the firmware it would run, as --predict times it."""
    code_for = firmware_for(board, mcu)
    if code_for is not None:
        bench = get_benchmark(bid)
        firmware = prepare_firmware(board, bench, find_model(bench.id, models), code_for=code_for)
    p = predict(board, cycle_model_for(board, timing=mcu), firmware.build.elf, data)
    project = firmware.project
    placed = ("all" if project.constants_in_ram else
              f"{project.constant_bytes_in_ram:,} of {project.weight_bytes:,} B" if project.ram_constant_layers else "-")
    return [bid, f"{p.zero_wait_cycles:,}", f"{p.zero_wait_latency_ms:.2f}", f"{p.cycles:,}", f"{p.latency_ms:.2f}",
            f"{100 * p.fetch_stall_cycles / p.cycles:.0f}%",
            f"{p.other_reading_latency_ms:.2f}" if p.other_reading_cycles else "-", placed]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cost_section(models: Path | None, iterations: int) -> None:
    board = load_board("qemu-mps2-an386")
    firmware, data, _ = prepare(board, "ic01", models)
    configs = [("no plugin", None, None), ("plugin, instructions", True, None),
               ("plugin + cycle model", True, cycle_model_for(board)),
               ("plugin + cycle + flash model", True, cycle_model_for(board, timing=load_board(PREDICTED[0])))]
    rows, base = [], None
    with_markers_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"tinyrig-cycle-cost-{os.getpid()}"
    with_markers_dir.mkdir(exist_ok=True)
    for name, markers, model in configs:
        target = QemuTarget(board, marker_log=with_markers_dir / "markers.txt" if markers else None, cycle_model=model)
        try:
            run = target.start(firmware.build.elf)
            with Dut(run.url) as dut:
                dut.open()
                if "load" in dut.capabilities():  # semihosting file load, as the bench does under QEMU
                    _fast_load(dut, data, with_markers_dir)
                else:
                    dut.load(data)
                dut.infer(1, 0)
                before, wall = _cpu_seconds(run.process.pid), time.monotonic()
                dut.infer(iterations, 0, timeout_s=600)
                cpu, wall = _cpu_seconds(run.process.pid) - before, time.monotonic() - wall
        finally:
            target.stop()
        base = base or cpu
        rows.append([name, f"{cpu:.2f}", f"{wall:.2f}", f"{cpu / base:.2f}x"])
    print(f"\nCost: QEMU host CPU time for ic01 `infer {iterations} 0` on qemu-mps2-an386")
    print(table(["configuration", "CPU s", "wall s", "vs no plugin"], rows))


def _fast_load(dut: Dut, data: bytes, folder: Path) -> None:
    path = folder / "input.bin"
    path.write_bytes(input_file_bytes(data))  # the firmware reads only files framed as the bench writes them
    dut.fast_load(str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=os.environ.get("TINYRIG_MODELS"))
    parser.add_argument("--benchmarks", default=",".join(BENCHMARKS))
    parser.add_argument("--cost-iterations", type=int, default=10, help="0 skips the cost section")
    args = parser.parse_args(argv)
    started = time.monotonic()
    ok = sequences_section()
    models_section(args.benchmarks.split(","), args.models)
    if args.cost_iterations:
        cost_section(args.models, args.cost_iterations)
    print(f"\n({time.monotonic() - started:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
