"""`tinyrig profile --board B --benchmark ID`: per-layer instructions under QEMU.

Registered in tinyrig/cli.py with `main.add_command(profile)`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tinyrig.benchmarks import UnknownBenchmarkError, get_benchmark
from tinyrig.boards import DEFAULT_BOARD, BoardError, load_board
from tinyrig.cli.exits import Exit
from tinyrig.terminal import first_line, printable
from tinyrig.cli.output import format_option, make_console, print_table
from tinyrig.hil.results.tables import Column, TableData


@click.command("profile")
@click.option("--board", default=DEFAULT_BOARD, show_default=True)
@click.option("--benchmark", "benchmark_id", required=True, help="Benchmark id, e.g. kws01.")
@click.option("--models", "models_dir", type=click.Path(path_type=Path),
              help="Folder with the reference models (default: TINYRIG_MODELS or the cache).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--no-cycles", is_flag=True, help="Instructions only, without the cycle model's estimated cycles.")
@click.option("--predict", "predict", metavar="BOARD",
              help="Time the layers as BOARD, a real MCU of the same core: its clock, flash wait states and "
                   "accelerator, on the firmware it would run (as `tinyrig run --predict`).")
@format_option()
def profile(board: str, benchmark_id: str, models_dir: Path | None, as_json: bool, no_cycles: bool,
            predict: str | None, fmt: str) -> None:
    """Instructions per layer of one inference, exact under QEMU -icount; under QEMU also estimated
    cycles, CPI and each layer's share of the cycles (docs/cycle-model.md), or with --predict the
    same as a real MCU would spend them."""
    from tinyrig.build.pio import BuildError
    from tinyrig.codegen.errors import ModelError, naming_model
    from tinyrig.hil.run.predict import firmware_for
    from tinyrig.hil.run.profile import ProfileError, profile_benchmark
    from tinyrig.hil.targets.base import TargetError
    from tinyrig.hil.targets.cycle_model import CycleModelError, cycle_model_for
    from tinyrig.hil.targets.registry import choose_target
    from tinyrig.models import ModelNotFoundError, find_model

    try:
        target = load_board(board)
        mcu = load_board(predict) if predict else None
        if mcu is not None and no_cycles:
            raise CycleModelError("--predict times the layers in cycles: it cannot go with --no-cycles")
        # Another core or a board without [timing] is refused here, before anything builds.
        timing = cycle_model_for(target, timing=mcu) if mcu is not None else None
        benchmark = get_benchmark(benchmark_id)
        model = find_model(benchmark.id, models_dir)
    except (BoardError, CycleModelError, UnknownBenchmarkError, ModelNotFoundError) as exc:
        click.echo(f"error: {printable(first_line(str(exc)))}", err=True)
        sys.exit(2)
    try:
        emulated = choose_target(target).emulated  # the board's own target records the layer markers
    except TargetError as exc:
        click.echo(f"error: {printable(first_line(str(exc)))}", err=True)
        sys.exit(2)
    if not emulated:
        click.echo(f"error: {target.name} is not emulated; profiling needs an emulator's exact instruction counts",
                   err=True)
        sys.exit(2)
    try:
        report = profile_benchmark(target, benchmark, model, cycles=not no_cycles, timing=timing,
                                   code_for=firmware_for(target, mcu))
    except ModelError as exc:  # the model file under --models: read before anything builds
        click.echo(f"error: {printable(first_line(naming_model(model, exc)))}", err=True)
        sys.exit(int(Exit.MODEL))
    except (ProfileError, RuntimeError, OSError) as exc:
        click.echo(f"error: {printable(first_line(str(exc)))}", err=True)
        # The statuses `tinyrig build` and `run` give: a firmware that does not build is not a failed profile.
        sys.exit(int(Exit.BUILD if isinstance(exc, BuildError) else Exit.FAILED))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    print_table(profile_table(report, benchmark.id, target.name, predicted_on=mcu.name if mcu else None), fmt,
                make_console())


def profile_table(report, benchmark_id: str, board_name: str, predicted_on: str | None = None) -> TableData:
    """Per layer: index, op, shapes and kernel are kept whole (an op or kernel name cut short
    names nothing), the numbers too; only the shapes may wrap."""
    from tinyrig.hil.run.profile import ProfileReport

    whole = {"#", "op", "kernel"}
    cycles = f"estimated cycles as {predicted_on}" if predicted_on else "estimated cycles"
    what = f"instructions (exact, QEMU -icount) and {cycles}" if report.has_cycles else \
        "instructions (exact, QEMU -icount)"
    table = TableData(f"{benchmark_id} on {board_name} ({report.core}): {what} per layer",
                      [Column(h, numeric=h in ProfileReport.NUMERIC, whole=h in whole) for h in report.headers()])
    rows = report.rows()
    for row in rows:
        table.add(*row)
    if len(rows) >= 3:
        table.rule_after.add(len(rows) - 3)  # the totals below the layers
    if report.has_cycles:
        table.notes.append(f"Est. cycles: the cycle model ({report.cycle_model}; docs/cycle-model.md), exact over "
                           f"reruns but only as right as its timing data; CPI = est. cycles / instructions; share "
                           f"of the layers' cycles. Marker overhead {report.marker_overhead_cycles} cycles, subtracted.")
    table.notes.append(f"Marker overhead {report.marker_overhead} instructions per layer, subtracted. "
                       f"Scratch RAM {report.scratch_bytes:,} B beside a {report.arena_bytes:,} B arena.")
    return table
