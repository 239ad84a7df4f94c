"""The `tinyrig` command line: boards, models, inspect, generate, export, build, run, report."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.table import Table

import tinyrig
from tinyrig.benchmarks import BENCHMARKS, UnknownBenchmarkError, expand_benchmarks
from tinyrig.boards import DEFAULT_BOARD, BoardError, all_boards, load_board
from tinyrig.boards.schema import CORES
from tinyrig.cli.exits import Exit
from tinyrig.cli.interrupts import InterruptibleGroup, interrupt_status
from tinyrig.hil.modes.registry import mode_names
from tinyrig.cli.output import format_option, make_console, print_table
from tinyrig.hil.results.tables import Column, TableData, emulation_note, results_table, summary_table
from tinyrig.hil.targets.base import TargetError
from tinyrig.hil.targets.registry import choose_target, target_kinds
from tinyrig.terminal import first_line, for_rich

# Width from the terminal or $COLUMNS; tables widen past it rather than cut a number (cli/output.py).
console = make_console()
err_console = make_console(stderr=True)


def _fail(message: str, code: int = Exit.USAGE) -> None:
    """One `error:` line (paths and device text in it escaped for rich) and the exit status."""
    err_console.print(f"[bold red]error:[/] {for_rich(first_line(message) or message)}")
    sys.exit(int(code))


def _board(name: str):
    try:
        return load_board(name)
    except BoardError as exc:
        _fail(str(exc))


def _benchmarks(spec: str):
    try:
        chosen = expand_benchmarks(spec)
    except UnknownBenchmarkError as exc:
        _fail(str(exc))
    if not chosen:
        _fail(f"--benchmark {spec!r} names no benchmark; give an id ({', '.join(BENCHMARKS)}), a comma list, or all")
    return chosen


@click.group(cls=InterruptibleGroup)
@click.version_option(tinyrig.__version__, prog_name="tinyrig")
def main() -> None:
    """tinyrig: MLPerf Tiny firmware generator and hardware-in-the-loop bench."""


# -- boards -----------------------------------------------------------------------------------

BOARD_HELP = "A board name (see `tinyrig boards`) or the path to a board file of your own."


@main.command("boards")
@click.option("--json-schema", "schema_out", is_flag=False, flag_value="", default=None, metavar="[PATH]",
              help="Write the board files' JSON Schema (default: boards/board.schema.json, the file the shipped "
                   "boards' `#:schema` line names) and exit.")
@format_option()
def boards_cmd(schema_out, fmt) -> None:
    """List the board files tinyrig knows, with the file each comes from."""
    if schema_out is not None:
        from tinyrig.boards.jsonschema import SCHEMA_PATH, write_json_schema

        console.print(f"wrote {for_rich(write_json_schema(Path(schema_out) if schema_out else SCHEMA_PATH))}")
        return
    table = TableData("Boards", [Column("name", whole=True), Column("family", whole=True), Column("core", whole=True),
                                 Column("clock", numeric=True), Column("flash", numeric=True), Column("RAM"),
                                 Column("flash timing"), Column("emulator"), Column("file", whole=True)])
    try:
        boards = all_boards()
    except BoardError as exc:
        _fail(str(exc))
    for b in boards:
        emu = b.emulator.qemu_machine and f"qemu {b.emulator.qemu_machine}" or b.emulator.renode_platform or "-"
        ram = f"{b.ram.size // 1024} KiB" + "".join(f" + {r.size // 1024} KiB" for r in b.extra_ram)
        table.add(b.name + (" (default)" if b.name == DEFAULT_BOARD else ""), b.family_name, b.core,
                  f"{b.clock_hz / 1e6:g} MHz", f"{b.flash.size // 1024:,} KiB", ram, _flash_timing(b), emu, str(b.path))
    print_table(table, fmt, console)


@main.group("board")
def board_group() -> None:
    """Start a board file of your own."""


@board_group.command("new")
@click.argument("name")
@click.option("--like", "like", required=True, help="The board to start from: " + BOARD_HELP)
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where to write NAME.toml.")
def board_new_cmd(name, like, directory) -> None:
    """Write NAME.toml: BOARD's values, a checklist header and every field explained."""
    from tinyrig.boards.scaffold import write_new_board

    template = _board(like)
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        path = write_new_board(name, template, directory)
        load_board(path)  # the new file must load as written
    except BoardError as exc:
        _fail(str(exc))
    console.print(f"wrote {for_rich(path)} (from {for_rich(template.name)}); check it with: tinyrig build --board {for_rich(path)} "
                  f"--benchmark kws01 --models DIR")


@main.command("doctor")
def doctor_cmd() -> None:
    """Check the toolchain, the emulator and the Python parts tinyrig needs."""
    import shutil
    import subprocess

    problems = 0

    def check(name: str, ok: bool, detail: str) -> None:
        nonlocal problems
        problems += not ok
        console.print(f"{'ok ' if ok else '[red]MISSING[/]'} {name:22} {for_rich(detail)}")

    for tool, package in (("arm-none-eabi-gcc", "gcc-arm-none-eabi"), ("qemu-system-arm", "qemu-system-arm"),
                          ("gcc", "gcc")):
        path = shutil.which(tool)
        version = ""
        if path:
            out = subprocess.run([path, "--version"], capture_output=True, text=True)
            version = (out.stdout.splitlines() or [""])[0]
        check(tool, bool(path), version or f"install the Debian package {package}")
    for module in ("platformio", "SCons", "tflite_micro", "flatbuffers", "numpy", "serial", "jinja2"):
        try:
            __import__(module)
            check(module, True, "importable")
        except ImportError as exc:
            check(module, False, str(exc))
    try:
        from tinyrig.hil.targets.pinwatch import build_plugin

        check("QEMU pin-watch plugin", True, str(build_plugin()))
    except ImportError:
        pass
    except Exception as exc:  # a compile error is reported, not raised
        check("QEMU pin-watch plugin", False, str(exc))
    from tinyrig.hil.targets.processes import stale_emulators

    for stale in stale_emulators():
        # An emulator whose tinyrig died without taking it along (a tinyrig from before the death
        # signal, or one killed between fork and exec): name it, do not kill what may be a user's.
        check("stale emulator", False, stale.describe())
    if problems:
        _fail(f"{problems} problem(s); scripts/setup.sh installs what is missing", 1)


# -- models -----------------------------------------------------------------------------------

@main.group("models")
def models_cmd() -> None:
    """Find or download the MLPerf Tiny reference models."""


@models_cmd.command("fetch")
@click.option("--dest", type=click.Path(path_type=Path), help="Folder to fill (default: tinyrig's cache).")
@click.option("--source", help="Base URL of the mlcommons/tiny repository or a mirror (file:// works).")
@click.argument("ids", nargs=-1)
def models_fetch(dest, source, ids) -> None:
    """Download reference models (all by default), checking their MD5 checksums."""
    from tinyrig.models import ModelFetchError, fetch_models

    try:
        for path in fetch_models(list(ids) or None, dest, source):
            console.print(f"ok  {for_rich(path)}")
    except ModelFetchError as exc:
        _fail(str(exc), 1)


@models_cmd.command("list")
@click.option("--models", "models_dir", type=click.Path(path_type=Path))
def models_list(models_dir) -> None:
    """Show where each benchmark's model would be taken from."""
    from tinyrig.models import ModelNotFoundError, find_model

    for bid in BENCHMARKS:
        try:
            console.print(f"{bid:6} {for_rich(find_model(bid, models_dir))}")
        except ModelNotFoundError:
            console.print(f"{bid:6} [yellow]not found[/]")


# -- inspect ----------------------------------------------------------------------------------

@main.command("inspect")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect_cmd(model: Path, as_json: bool) -> None:
    """Operator table, MACs, weights and planned arena of a .tflite model."""
    from tinyrig.codegen.errors import ModelError
    from tinyrig.codegen.inspect import inspect_model, render_text, report_to_json, why_not_compiled

    try:
        report = inspect_model(model)
    except ModelError as exc:
        _fail(f"{model}: {exc}", Exit.MODEL)
    if as_json:
        click.echo(json.dumps(report_to_json(report), indent=2))
    else:
        click.echo(render_text(report))
    reason = why_not_compiled(report)
    if reason:  # the table shows every row; the status and this line are for scripts, as generate's
        _fail(f"{model}: cannot be compiled: {reason}", Exit.MODEL)


# -- generate / build -------------------------------------------------------------------------

def _benchmark_for_model(model: Path, benchmark: str | None):
    if benchmark:
        return _benchmarks(benchmark)[0]
    for b in BENCHMARKS.values():
        if model.name in (f"{b.id}.tflite", b.reference_file):
            return b
    _fail(f"cannot tell the benchmark from the file name {model.name!r}; pass --benchmark "
          f"({', '.join(BENCHMARKS)})")


@main.command("generate")
@click.option("--board", default=DEFAULT_BOARD, show_default=True, help=BOARD_HELP)
@click.option("--model", "model", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--benchmark", help="Benchmark id (default: from the model's file name).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--target", "scripts_for", default=None, type=click.Choice(target_kinds()),
              help="renode: also write the .resc and .robot files for the board's Renode platform.")
def generate_cmd(board, model, benchmark, out, scripts_for) -> None:
    """Render the PlatformIO firmware project for a board and a model."""
    from tinyrig.codegen.errors import ModelError, naming_model
    from tinyrig.codegen.firmware import render_project

    b = _board(board)
    bench = _benchmark_for_model(model, benchmark)
    if scripts_for == "renode":  # a board Renode cannot run is refused before the project is written
        _renode_scripts_possible(b)
    try:
        project = render_project(b, bench, model, out)
    except (ModelError, ValueError) as exc:
        _fail(naming_model(model, exc), Exit.MODEL)
    except OSError as exc:
        _fail(f"--out {out}: cannot write the project there: {exc.strerror or exc}"
              + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(out) else ""))
    console.print(f"generated {bench.id} for {b.name} in {for_rich(project.directory)} ({len(project.files)} files)")
    console.print(f"  arena {project.arena_bytes} B (lower bound {project.arena_lower_bound} B), "
                  f"weights {project.weight_bytes} B, {project.total_macs:,} MACs")
    if scripts_for == "renode":
        from tinyrig.renode.scripts import RenodeScriptError, write_renode_files

        try:
            for path in write_renode_files(b, project.directory):
                console.print(f"  renode: {for_rich(path)}")
        except RenodeScriptError as exc:
            _fail(str(exc))
    console.print(f"  build: tinyrig build --project {for_rich(project.directory)}")


def _renode_scripts_possible(board) -> None:
    """What write_renode_files needs of the board (its platform, console UART, pin port), checked
    without writing: one line and status 2, nothing generated."""
    from tinyrig.renode.scripts import RenodeScriptError, pin_port, platform_for, uart_peripheral

    try:
        platform_for(board)
        uart_peripheral(board)
        pin_port(board)
    except RenodeScriptError as exc:
        _fail(str(exc))


@main.command("export")
@click.option("--model", "model", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--core", required=True, type=click.Choice([*CORES, "reference"]),
              help="The core whose kernels to export (reference: portable C++ for any processor).")
@click.option("--benchmark", help="Benchmark id (default: from the model's file name).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
def export_cmd(model, core, benchmark, out) -> None:
    """Write the model and the MLPerf Tiny API shim as a library for your own SDK (CMake, PlatformIO, Zephyr)."""
    from tinyrig.codegen.errors import ModelError, naming_model
    from tinyrig.codegen.export import export_library

    bench = _benchmark_for_model(model, benchmark)
    try:
        exported = export_library(model, bench, core, out)
    except (ModelError, ValueError) as exc:  # the same status as generate's: a model tinyrig cannot compile
        _fail(str(exc) if str(out) in str(exc) else naming_model(model, exc), Exit.MODEL)
    except OSError as exc:
        _fail(f"--out {out}: cannot write the library there: {exc.strerror or exc}"
              + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(out) else ""))
    console.print(f"exported {bench.id} for {core} in {exported.directory} ({len(exported.files)} files)")
    console.print(f"  arena {exported.arena_bytes} B, weights {exported.weight_bytes} B, {exported.total_macs:,} MACs")
    console.print(f"  port: {exported.directory / 'include' / 'tinyrig_port.h'}; how to: {exported.directory / 'README.md'}")


def _flash_timing(board) -> str:
    """What the cycle model knows of the board's flash ([timing]): its wait states at the board clock,
    which `tinyrig run --predict BOARD` times; "-" for a board it cannot time."""
    if board.timing is None:
        return "-"
    states = board.timing.flash_wait_states
    return f"{states} WS" + (" + cache" if board.timing.icache_bytes else "") if states else "0 WS"


def print_size(result, title: str) -> None:
    size = result.size
    table = Table(title=title)
    table.add_column("section")
    table.add_column("bytes", justify="right")
    for name, value in size.sections.items():
        table.add_row(name, f"{value:,}")
    console.print(table)
    console.print(f"flash {size.flash_bytes:,} / {size.flash_capacity:,} B ({size.flash_percent:.1f}%)   "
                  f"RAM {size.ram_bytes:,} / {size.ram_capacity:,} B ({size.ram_percent:.1f}%, incl. stack reserve)")


def _project_board(manifest, board: str | None):
    """The board a generated project is built for: --board (a name or a path) if given, else the board
    file the project was generated from, else the shipped board of that name."""
    if board is None:
        board_file = Path(manifest.board_file) if manifest.board_file else None
        board = str(board_file) if board_file and board_file.is_file() else manifest.board
    b = _board(board)
    if b.name != manifest.board:
        _fail(f"{manifest.directory}: generated for board {manifest.board!r}, not {b.name!r}; regenerate it or "
              f"pass --board with {manifest.board!r}'s file")
    return b


@main.command("build")
@click.option("--project", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A project made by `tinyrig generate` (its board file is found again; --board overrides).")
@click.option("--board", default=None, help=BOARD_HELP + f" [default: {DEFAULT_BOARD}]")
@click.option("--benchmark", help="Generate and build this benchmark (with --models).")
@click.option("--models", "models_dir", type=click.Path(path_type=Path))
@click.option("--env", "env_name", default="perf", type=click.Choice(["perf", "energy"]), show_default=True)
def build_cmd(project, board, benchmark, models_dir, env_name) -> None:
    """Build firmware offline with PlatformIO and report flash and RAM per section."""
    from tinyrig.build.pio import BuildError, build_project
    from tinyrig.codegen.errors import ModelError
    from tinyrig.codegen.firmware import STACK_BYTES, FirmwareProject
    from tinyrig.build.firmware_cache import prepare_firmware
    from tinyrig.models import ModelNotFoundError, find_model

    try:
        if project:
            try:
                manifest = FirmwareProject.load(project)
            except (OSError, ValueError, TypeError) as exc:
                _fail(f"--project {project}: not a project made by `tinyrig generate` "
                      f"({getattr(exc, 'strerror', None) or exc})")
            b = _project_board(manifest, board)
            result = build_project(project, env_name, flash_capacity=b.flash.size, ram_capacity=b.ram.size,
                                   stack_bytes=STACK_BYTES)
            title = f"{manifest.benchmark} on {b.name} ({env_name})"
        elif benchmark:
            b = _board(board or DEFAULT_BOARD)
            bench = _benchmarks(benchmark)[0]
            firmware = prepare_firmware(b, bench, find_model(bench.id, models_dir), env_name)
            result, manifest = firmware.build, firmware.project
            title = f"{bench.id} on {b.name} ({env_name})"
        else:
            _fail("pass --project DIR or --benchmark ID")
    except BuildError as exc:
        _fail(str(exc), Exit.BUILD)
    except ModelError as exc:
        _fail(str(exc), Exit.MODEL)
    except (ModelNotFoundError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    print_size(result, title)
    placement = constants_placement_line(manifest)
    if placement:
        console.print(placement)
    console.print(f"image: {for_rich(result.elf)}")


def constants_placement_line(project) -> str:
    """Where the model's constants live when not (all) in flash: copied to RAM at reset because the
    board's flash has wait states (codegen/firmware.py place_constants)."""
    if project.constants_in_ram:
        return f"constants: all {project.weight_bytes:,} B copied to RAM at reset (the flash has wait states)"
    if project.ram_constant_layers:
        layers = len(project.ram_constant_layers)
        return (f"constants: {project.constant_bytes_in_ram:,} of {project.weight_bytes:,} B copied to RAM at reset "
                f"({layers} layer{'s' if layers != 1 else ''} waiting on flash most per byte: "
                f"{', '.join(map(str, project.ram_constant_layers))}; the flash has wait states), the rest in flash")
    return ""


# -- run / report -----------------------------------------------------------------------------

def _power_monitor(name: str | None) -> str | None:
    """A registered power monitor's name. Checked when given, not when the CLI loads: the drivers
    (and numpy behind their traces) stay out of every other command's start-up."""
    if name is None:
        return None
    from tinyrig.hil.instruments.monitor import available_monitors

    known = available_monitors()
    if name.lower() not in known:
        raise click.BadParameter(f"{name!r} is not one of {', '.join(known)}")
    return name


@main.command("run")
@click.option("--board", default=DEFAULT_BOARD, show_default=True, help=BOARD_HELP)
@click.option("--benchmark", "benchmark_spec", default="all", show_default=True, help="An id, a comma list, or all.")
@click.option("--mode", default="performance", type=click.Choice(mode_names()), show_default=True)
@click.option("--target", default=None, type=click.Choice(target_kinds()),
              help="Where the firmware runs (default: the board's emulator, else hardware).")
@click.option("--probe", help="Hardware: the debug probe's unique ID (default: the only one attached).")
@click.option("--port", help="Hardware: the console's serial port or pyserial URL (default: found by USB VID:PID).")
@click.option("--no-flash", is_flag=True, help="Hardware: the board already runs this firmware.")
@click.option("--power-monitor", callback=lambda ctx, param, value: _power_monitor(value),
              help="Hardware energy mode: the instrument, lpm01a, js220, ppk2 or a plug-in's name "
                   "(see docs/power-monitors.md).")
@click.option("--monitor-port", help="The power monitor's serial port (LPM01A, PPK2).")
@click.option("--io-manager", help="Hardware: the interface board's serial port; the DUT's console is relayed "
                                   "through it (the energy set-up, docs/hardware.md).")
@click.option("--models", "models_dir", type=click.Path(path_type=Path),
              help="Folder with the .tflite models (else $TINYRIG_MODELS, else the cache).")
@click.option("--dataset", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Dataset in the official layout (DIR/<id>/y_labels.csv): accuracy mode's inputs; "
                   "performance/energy inputs instead of seeded random ones.")
@click.option("--limit", type=int, help="Accuracy mode: only the first N files of each index.")
@click.option("--stream", "stream", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Streaming mode: a truth JSON (the runner's sww_long_test.json format) beside its wav files; "
                   "default: tinyrig's synthetic test stream (docs/streaming.md).")
@click.option("--iterations", "-n", type=int, help="Timed inferences per window.")
@click.option("--warmup", "-w", type=int, help="Warm-up inferences per window.")
@click.option("--seed", default=0, show_default=True, help="Seed of the random inputs.")
@click.option("--sessions", "sessions_root", type=click.Path(path_type=Path), help="Where session folders go.")
@click.option("--resume", "resume_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Continue an interrupted session where it stopped (its own options are used).")
@click.option("--no-reference", is_flag=True, help="Skip the check against the tflite-micro interpreter.")
@click.option("--no-fast-load", is_flag=True, help="Always load inputs with `db` commands, even in emulation.")
@click.option("--db", help="Results database to record the session in (default: SQLite in tinyrig's data folder; "
                           "a PostgreSQL URL for teams).")
@click.option("--no-record", is_flag=True, help="Do not record the session in the results database.")
@click.option("-j", "--jobs", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Benchmarks measured at once, each in its own emulator (same figures as -j 1).")
@click.option("--no-cycles", is_flag=True, help="QEMU: count instructions only, without the cycle model's "
              "estimated cycles (docs/cycle-model.md).")
@click.option("--predict", "predict", metavar="BOARD",
              help="QEMU: also time each benchmark as BOARD (same core): its clock, flash wait states and "
                   "accelerator; prints the estimated latency beside the zero-wait figure.")
@click.option("--infer-timeout", default=900.0, show_default=True, type=click.FloatRange(1.0, 86400.0),
              help="Seconds the first window may take before the device counts as silent; later windows get "
                   "a limit from the last one's pace.")
def run_cmd(board, benchmark_spec, mode, target, probe, port, no_flash, power_monitor, monitor_port, io_manager, models_dir, dataset, limit, stream, iterations, warmup, seed, sessions_root,
            resume_dir, no_reference, no_fast_load, db, no_record, jobs, no_cycles, predict, infer_timeout) -> None:
    """Generate, build, run and measure benchmarks; write a session folder."""
    from tinyrig.cli.progress import RunDisplay
    from tinyrig.hil.modes.base import ModeOptionError
    from tinyrig.hil.modes.registry import get_mode
    from tinyrig.hil.run.runner import RunOptions, run_session
    from tinyrig.hil.results.session import Session
    from tinyrig.hil.targets.cycle_model import CycleModelError
    from tinyrig.paths import sessions_dir

    if port:
        _check_port(port)
    if resume_dir:
        session, options = _resume(resume_dir, overrides=dict(port=port, probe=probe, monitor_port=monitor_port,
                                                              db=db, record=not no_record))
        console.print(f"resuming session {for_rich(session.directory)}")
    else:
        b = _board(board)
        try:
            target = choose_target(b, target).kind
        except TargetError as exc:
            _fail(str(exc))
        if iterations is not None and iterations < 1:
            _fail("--iterations must be >= 1")
        if warmup is not None and warmup < 0:
            _fail("--warmup must be >= 0")
        if limit is not None and limit < 1:
            _fail("--limit must be >= 1")
        if mode == "streaming" and benchmark_spec == "all":  # "all" streaming benchmarks
            benchmark_spec = ",".join(b.id for b in BENCHMARKS.values() if b.streaming)
        elif benchmark_spec == "all":  # the four; the streaming wakeword has its own flow
            streaming_ids = ", ".join(b.id for b in BENCHMARKS.values() if b.streaming)
            console.print(f"note: 'all' is the four non-streaming benchmarks in {mode} mode; {streaming_ids} runs "
                          f"with --mode streaming (its energy: --mode energy --benchmark {streaming_ids})",
                          highlight=False)
        options = RunOptions(board=b, benchmarks=_benchmarks(benchmark_spec), mode=mode, target=target,
                             models_dir=models_dir,
                             iterations=iterations, warmup=warmup, seed=seed, dataset=dataset, limit=limit,
                             check_reference=not no_reference, fast_load=not no_fast_load, jobs=jobs,
                             probe=probe, port=port, flash=not no_flash, power_monitor=power_monitor,
                             monitor_port=monitor_port, io_manager=io_manager, cycles=not no_cycles,
                             predict=predict, stream=stream.resolve() if stream else None,
                             db=_storable_db(db, no_record), record=not no_record, infer_timeout_s=infer_timeout)
        try:
            options.prediction_model()  # another core or a board without [timing]: said before anything builds
        except (CycleModelError, BoardError) as exc:
            _fail(str(exc))
        if not options.emulated and jobs > 1:
            _fail("-j applies to emulators; a board runs one benchmark at a time")
        try:
            get_mode(mode).check(options.mode_settings(), options.target_class)
        except ModeOptionError as exc:
            _fail(str(exc))
        from tinyrig.hil.results.db import git_revision

        revision, dirty = git_revision()
        root = sessions_root or sessions_dir()
        try:
            session = Session.create(root, board=b.name, target=target, mode=mode,
                                     meta={"tinyrig_version": tinyrig.__version__, "git_revision": revision,
                                           "git_dirty": dirty})
        except OSError as exc:
            _fail(f"--sessions {root}: cannot create a session folder there: {exc.strerror or exc}"
                  + (f" ({exc.filename})" if exc.filename else "") + "; give --sessions a writable folder",
                  Exit.SESSION)
        console.print(f"session {for_rich(session.directory)}")
        untimed = options.untimed_core_note()
        if untimed:
            console.print(for_rich(untimed))

    from tinyrig.hil.run.signals import by_sigterm

    try:  # SIGTERM arrives as KeyboardInterrupt here too (InterruptibleGroup)
        with RunDisplay(console, err_console) as display:
            ok = run_session(session, options, display.callbacks())
    except KeyboardInterrupt as exc:
        session.finish("interrupted")
        err_console.print(f"{'terminated' if by_sigterm(exc) else 'interrupted'}; everything measured so "
                          f"far is in {for_rich(session.directory)}; continue with: tinyrig run --resume "
                          f"{for_rich(session.directory)}")
        sys.exit(int(interrupt_status(exc)))
    finally:
        session.close()
    recorded_ok = _record(session, options)
    results = session.results.data()  # the tables read the schema's validated data
    table = summary_table(results)
    if options.emulated and options.mode != "accuracy":
        table.notes.append(emulation_note(results))
    print_table(table, "table", console)
    console.print(f"results: {for_rich(session.directory / 'results.json')}")
    from tinyrig.hil.results.reference_check import disagreements

    differing = disagreements(results)
    for bid, what in differing.items():
        err_console.print(f"[bold red]{bid}:[/] {for_rich(what)}")
    if not ok:
        sys.exit(int(Exit.FAILED))
    if differing:
        sys.exit(int(Exit.MISMATCH))
    sys.exit(int(Exit.OK if recorded_ok or not options.record else Exit.DATABASE))


def _check_port(port: str) -> None:
    """A serial device path must be there before anything is built for it (a URL is tried as given)."""
    if "://" in port:
        return
    try:
        there = os.path.exists(port)
    except (OSError, ValueError):
        there = False
    if not there:
        _fail(f"--port {port}: no such device; give the console's serial device (e.g. /dev/ttyACM0) "
              f"or a pyserial URL (socket://HOST:PORT, rfc2217://HOST:PORT)")


# Where the bench is connected may change between a run and its resume (a board that came back
# on another port, a different probe, the team database); what shapes the figures may not.
_RESUME_MAY_CHANGE = {"port", "probe", "monitor_port", "db", "no_record", "resume_dir", "sessions_root"}


def _resume(resume_dir: Path, overrides: dict):
    from dataclasses import replace

    from click.core import ParameterSource

    from tinyrig.hil.run.options import RunOptions
    from tinyrig.hil.results.session import Session

    ctx = click.get_current_context()
    fixed = sorted(name for name in ctx.params if name not in _RESUME_MAY_CHANGE
                   and ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE)
    if fixed:
        flags = ", ".join("--" + name.replace("_spec", "").replace("_dir", "").replace("_", "-") for name in fixed)
        _fail(f"--resume {resume_dir} continues with the session's own options; {flags} cannot change them "
              f"(only --port, --probe, --monitor-port, --db, --no-record can); start a new session instead")
    try:
        session = Session.open(resume_dir)
        if session.results.options is None:
            raise ValueError("the session recorded no run options ('options' in its results.json)")
        options = RunOptions.from_record(session.results.options)
    except (OSError, ValueError, TypeError, AttributeError, BoardError, UnknownBenchmarkError) as exc:
        _fail(f"cannot resume {resume_dir}: {exc}", Exit.SESSION)
    _check_models_unchanged(resume_dir, session, options)
    given = {name: value for name, value in overrides.items()
             if ctx.get_parameter_source("no_record" if name == "record" else name) == ParameterSource.COMMANDLINE}
    if "db" in given:
        given["db"] = _storable_db(given["db"], False)
    if given:
        options = replace(options, **given)
        session.results.options = options.to_record()  # the next resume uses the new port too
        session.note(f"resumed with {', '.join(f'{k}={v}' for k, v in given.items())}")
    return session, options


def _check_models_unchanged(resume_dir: Path, session, options) -> None:
    """Before anything builds: every model a benchmark's saved figures were measured with is still the
    file --models holds (hil/run/resume_check.py says why). A model that is gone is left to the run,
    which names it for its benchmark."""
    from tinyrig.codegen.errors import ModelError
    from tinyrig.hil.run.resume_check import FirmwareChangedError, check_model_unchanged
    from tinyrig.models import ModelNotFoundError, find_model

    for benchmark in options.benchmarks:
        entry = session.results.benchmarks.get(benchmark.id)
        if entry is None or entry.status == "complete":
            continue  # a finished benchmark is not measured again
        try:
            check_model_unchanged(benchmark.id, entry, find_model(benchmark.id, options.models_dir))
        except (ModelNotFoundError, ModelError, OSError):
            continue
        except FirmwareChangedError as exc:
            _fail(f"cannot resume {resume_dir}: {exc}", Exit.SESSION)


def _storable_db(db, no_record: bool):
    from tinyrig.hil.results.db import ResultsDBError, storable_db_url

    if no_record:
        return None
    try:
        return storable_db_url(db)
    except ResultsDBError as exc:
        _fail(str(exc), Exit.DATABASE)


def _record(session, options) -> bool:
    """Records the finished session into its own database; a database that fails is a warning
    (the session folder has everything; `tinyrig record` adds it later)."""
    if not options.record:
        return True
    from tinyrig.hil.results.db import ResultsDBError, record_session

    try:
        recorded = record_session(session.directory, options.db)
    except ResultsDBError as exc:
        err_console.print(f"[yellow]warning:[/] session not recorded: {for_rich(exc)}; the session folder has "
                          f"everything: `tinyrig record {for_rich(session.directory)}` adds it later")
        return False
    console.print(f"[dim]recorded in {for_rich(recorded.db)} as session {for_rich(recorded.session_id)}[/]")
    return True


@main.command("report")
@click.argument("sessions", nargs=-1, required=True, metavar="SESSION...")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one self-contained HTML report (verdict, tables, plots, traces) to this file.")
@click.option("--db", help="Results database: session ids, the gate's verdicts and the history plots "
                           "(SQLite path or PostgreSQL URL; default for ids: $TINYRIG_DB, else tinyrig's data folder).")
@format_option()
def report_cmd(sessions, html_out, db, fmt) -> None:
    """Re-print sessions' summaries, or write them as one HTML report. SESSION is a session
    folder or a recorded session id (as `tinyrig history` prints and `tinyrig compare` takes)."""
    from tinyrig.cli.results import resolve_report_sessions
    from tinyrig.hil.results.db import ResultsDBError
    from tinyrig.hil.results.html import ReportError

    loaded, db = resolve_report_sessions(sessions, db)
    if html_out:
        from tinyrig.cli.results import write_html_report
        from tinyrig.terminal import output_problem

        if output_problem(html_out):
            _fail(f"--html {html_out}: {output_problem(html_out)}; give a new file or a regular file to replace")
        try:
            path = write_html_report(loaded, html_out, db=db)
        except ResultsDBError as exc:
            _fail(str(exc), Exit.DATABASE)
        except ReportError as exc:
            _fail(str(exc), Exit.FAILED)
        except (OSError, ValueError) as exc:
            _fail(f"--html {html_out}: cannot write the report there: {getattr(exc, 'strerror', None) or exc}")
        console.print(f"report: {for_rich(path)}")
        return
    for n, session in enumerate(loaded):
        if n and fmt != "table":
            click.echo("")
        try:
            table = summary_table(session.results)
        except ValueError as exc:
            _fail(f"{session.id}: {exc}", 1)
        if fmt == "table":
            table.title += f"\n{session.id}"
        print_table(table, fmt, console)
    if len(loaded) > 1:
        if fmt != "table":
            click.echo("")
        print_table(results_table([s.results for s in sorted(loaded, key=lambda s: s.results.get("created") or "")]),
                    fmt, console)


def _register_commands() -> None:
    from tinyrig.cli.profile import profile as profile_cmd
    from tinyrig.cli.database import db_cmd
    from tinyrig.cli.results import compare_cmd, history_cmd, record_cmd
    from tinyrig.cli.submission import submission

    main.add_command(db_cmd)
    main.add_command(profile_cmd)
    main.add_command(history_cmd)
    main.add_command(compare_cmd)
    main.add_command(record_cmd)
    main.add_command(submission)


_register_commands()

