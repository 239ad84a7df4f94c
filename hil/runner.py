"""`tinyrig run`: generate, build, start the target, drive the DUT in one mode, record a session.

Each benchmark is measured independently: a failure (a model that does not fit, a firmware
that stops answering, a dead emulator) is recorded against that benchmark with a clear error,
and the others still run. Every finished window or dataset file is saved the moment it
finishes, and a resumed session (`tinyrig run --resume SESSION`) skips what is already there.
"""

from __future__ import annotations

import subprocess
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from tinyrig.benchmarks import Benchmark, get_benchmark
from tinyrig.boards import Board, load_board
from tinyrig.firmware_cache import Firmware, prepare_firmware
from tinyrig.hil import results_txt
from tinyrig.hil.dataset import DatasetError, read_index
from tinyrig.hil.dut import Dut, DutDisconnected, DutError
from tinyrig.hil.energy_sources import CLOCK_MODEL, EmulatedPowerModel, MonitorSource
from tinyrig.hil.inputs import dataset_inputs, random_inputs
from tinyrig.hil.loading import choose_loader
from tinyrig.hil.modes import accuracy as accuracy_mode
from tinyrig.hil.modes import energy as energy_mode
from tinyrig.hil.modes import performance as performance_mode
from tinyrig.hil.modes import streaming as streaming_mode
from tinyrig.hil.pinwatch import PinwatchError, symbol_range
from tinyrig.hil.power.errors import PowerMonitorError
from tinyrig.hil.power.monitor import get_monitor
from tinyrig.hil.qemu import QemuError, QemuRun, QemuTarget
from tinyrig.hil.flash import FlashError
from tinyrig.hil.hardware import HardwareError, HardwareTarget
from tinyrig.hil.ports import PortError
from tinyrig.hil.renode import RenodeError, RenodeTarget
from tinyrig.hil.reference import ReferenceModel
from tinyrig.hil.session import Session
from tinyrig.models import find_model

MODES = ("performance", "accuracy", "energy", "streaming")
TARGETS = ("qemu", "renode", "hardware")
# Emulated instruction counts are deterministic, so short windows suffice there; on hardware
# the MLPerf Tiny runner's per-benchmark N (windows of >= 10 s) applies.
EMULATION_ITERATIONS = 3
EMULATION_WARMUP = 1


@dataclass
class RunOptions:
    board: Board
    benchmarks: list[Benchmark]
    mode: str = "performance"
    target: str = "qemu"
    models_dir: Path | None = None
    iterations: int | None = None
    warmup: int | None = None
    windows: int = performance_mode.WINDOWS
    seed: int = 0
    dataset: Path | None = None
    limit: int | None = None  # accuracy: only the first N files of each index
    check_reference: bool = True
    fast_load: bool = True
    icount_shift: int = 0
    infer_timeout_s: float = 900.0
    jobs: int = 1  # benchmarks measured at once, each in its own emulator
    # Hardware target: the probe (unique ID) and console port (else found by USB VID:PID), whether
    # to flash, and the power monitor for energy mode (a name from tinyrig.hil.power and its port).
    probe: str | None = None
    port: str | None = None
    flash: bool = True
    power_monitor: str | None = None
    monitor_port: str | None = None
    stream: Path | None = None  # streaming mode: a truth JSON beside its wav files (else the shipped test stream)

    @property
    def emulated(self) -> bool:
        return self.target != "hardware"

    def to_json(self) -> dict:
        return {
            "board": str(self.board.path or self.board.name),
            "benchmarks": [b.id for b in self.benchmarks],
            "mode": self.mode,
            "target": self.target,
            "models_dir": str(self.models_dir) if self.models_dir else None,
            "iterations": self.iterations,
            "warmup": self.warmup,
            "windows": self.windows,
            "seed": self.seed,
            "dataset": str(self.dataset) if self.dataset else None,
            "limit": self.limit,
            "check_reference": self.check_reference,
            "fast_load": self.fast_load,
            "icount_shift": self.icount_shift,
            "jobs": self.jobs,
            "probe": self.probe,
            "port": self.port,
            "flash": self.flash,
            "power_monitor": self.power_monitor,
            "monitor_port": self.monitor_port,
            "stream": str(self.stream) if self.stream else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> "RunOptions":
        return cls(
            board=load_board(data["board"]),
            benchmarks=[get_benchmark(b) for b in data["benchmarks"]],
            mode=data["mode"],
            target=data.get("target", "qemu"),
            models_dir=Path(data["models_dir"]) if data.get("models_dir") else None,
            iterations=data.get("iterations"),
            warmup=data.get("warmup"),
            windows=data.get("windows", performance_mode.WINDOWS),
            seed=data.get("seed", 0),
            dataset=Path(data["dataset"]) if data.get("dataset") else None,
            limit=data.get("limit"),
            check_reference=data.get("check_reference", True),
            fast_load=data.get("fast_load", True),
            icount_shift=data.get("icount_shift", 0),
            jobs=data.get("jobs", 1),
            probe=data.get("probe"),
            port=data.get("port"),
            flash=data.get("flash", True),
            power_monitor=data.get("power_monitor"),
            monitor_port=data.get("monitor_port"),
            stream=Path(data["stream"]) if data.get("stream") else None,
        )


@dataclass
class Progress:
    """Callbacks for a front end (the CLI's progress display); all optional."""

    stage: Callable[[str, str], None] = lambda benchmark, what: None
    advance: Callable[[str, int, int, str], None] = lambda benchmark, done, total, detail: None
    failed: Callable[[str, str], None] = lambda benchmark, error: None
    extra: dict = field(default_factory=dict)


def compiler_version() -> str:
    try:
        out = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.splitlines()[0].strip()
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def _record_firmware(entry: dict, firmware: Firmware) -> None:
    project, size = firmware.project, firmware.build.size
    entry["firmware"] = {
        "source_sha256": project.source_sha256,
        "model_sha256": project.model_sha256,
        "elf": str(firmware.build.elf),
        "env": firmware.build.env,
        "flash_bytes": size.flash_bytes,
        "ram_bytes": size.ram_bytes,
        "flash_capacity": size.flash_capacity,
        "ram_capacity": size.ram_capacity,
        "sections": size.sections,
        "arena_bytes": project.arena_bytes,
        "arena_lower_bound": project.arena_lower_bound,
        "weight_bytes": project.weight_bytes,
        "total_macs": project.total_macs,
    }


@dataclass
class ModeContext:
    """What every mode needs for one benchmark: all prepared by `run_benchmark`."""

    session: Session
    options: RunOptions
    benchmark: Benchmark
    entry: dict
    firmware: Firmware
    reference: ReferenceModel
    dut: Dut
    run: QemuRun
    target: QemuTarget | RenodeTarget
    load: Callable[[Dut, bytes], None]
    progress: Progress
    iterations: int
    warmup: int
    cleanup: list = field(default_factory=list)  # closers for instruments a mode opened

    def perf_inputs(self):
        if self.options.dataset:
            return dataset_inputs(self.benchmark, self.options.dataset, self.options.windows)
        scale, zero_point = self.reference.input_quantization()
        return random_inputs(self.benchmark, self.options.windows, self.options.seed, scale, zero_point)


def _run_performance(ctx: ModeContext) -> None:
    entry, bid = ctx.entry, ctx.benchmark.id
    inputs = ctx.perf_inputs()
    entry["inputs"] = "dataset" if ctx.options.dataset else f"random (seed {ctx.options.seed})"
    done = [performance_mode.window_from_dict(w) for w in entry.get("windows", [])]

    def on_window(window) -> None:
        entry.setdefault("windows", []).append(performance_mode.window_to_dict(window))
        ctx.session.save()
        detail = f"{window.latency_us:,.1f} us/inference"
        if window.instructions is not None:
            detail += f", {window.instructions:,.0f} instructions"
        ctx.progress.advance(bid, window.index + 1, len(inputs), detail)

    windows = performance_mode.run_performance(
        ctx.dut, ctx.benchmark, inputs, iterations=ctx.iterations, warmup=ctx.warmup,
        instructions_per_second=ctx.target.instructions_per_second if ctx.options.emulated else None,
        reference=ctx.reference if ctx.options.check_reference else None, done=done, on_window=on_window,
        infer_timeout_s=ctx.options.infer_timeout_s,
        marks=ctx.run.new_window_marks if ctx.run.markers else None, load=ctx.load)
    summary = performance_mode.summarize(windows, ctx.firmware.project.total_macs, ctx.options.emulated)
    entry["summary"] = summary.__dict__


def _run_accuracy(ctx: ModeContext) -> None:
    entry, bid = ctx.entry, ctx.benchmark.id
    if not ctx.options.dataset:
        raise DatasetError("accuracy mode needs --dataset DIR (the official layout: DIR/<id>/y_labels.csv + files)")
    files = read_index(ctx.benchmark, ctx.options.dataset, ctx.options.limit)
    acc = entry.setdefault("accuracy", {"files": []})
    acc["dataset"] = str(ctx.options.dataset)
    done = [accuracy_mode.FileResult(**f) for f in acc["files"]]

    def on_file(result) -> None:
        acc["files"].append(asdict(result))
        ctx.session.save()
        ctx.progress.advance(bid, len(acc["files"]), len(files), result.file)

    results = accuracy_mode.run_accuracy(ctx.dut, ctx.benchmark, files, load=ctx.load,
                                         reference=ctx.reference if ctx.options.check_reference else None,
                                         done=done, on_file=on_file, timeout_s=ctx.options.infer_timeout_s)
    summary = accuracy_mode.summarize(ctx.benchmark, results, files[0].num_classes)
    acc["summary"] = asdict(summary)
    entry["summary"] = {"accuracy": summary.top1, "auc": summary.auc, "bit_exact": summary.bit_exact,
                        "checked": summary.checked, "files": summary.files, "inputs": summary.inputs,
                        "meets_target": summary.meets_target}


def _run_energy(ctx: ModeContext) -> None:
    entry, bid, board = ctx.entry, ctx.benchmark.id, ctx.options.board
    if ctx.options.target == "hardware":
        if not ctx.options.power_monitor:
            raise PowerMonitorError("energy mode on a board needs a power monitor: --power-monitor lpm01a|js220|ppk2")
        monitor = get_monitor(ctx.options.power_monitor, **({"port": ctx.options.monitor_port}
                                                            if ctx.options.monitor_port else {}))
        monitor.open()
        monitor.configure(board.power.supply_v)
        ctx.cleanup.append(monitor.close)
        source = MonitorSource(monitor)
    else:
        if board.timestamp_pin.driver == "none" or ctx.run.markers is None:
            raise PowerMonitorError(f"board {board.name} has no timestamp pin its emulator models; "
                                    f"energy windows cannot be observed", instrument="QEMU pinwatch")
        source = EmulatedPowerModel(board, ctx.run.markers.read_new,
                                    symbol_range(ctx.firmware.build.elf, "board_pin_pulse"))
    inputs = ctx.perf_inputs()
    energy = entry.setdefault("energy", {"windows": []})
    if ctx.options.target == "hardware":
        energy.update(power_monitor=ctx.options.power_monitor, supply_v=board.power.supply_v)
    else:
        energy.update(clock_model=CLOCK_MODEL, clock_hz=board.clock_hz, power_model=asdict(board.power))
    done = [energy_mode.window_from_dict(w) for w in energy["windows"]]

    def on_window(window) -> None:
        energy["windows"].append(energy_mode.window_to_dict(window))
        ctx.session.save()
        ctx.progress.advance(bid, window.index + 1, len(inputs),
                             f"{window.energy_per_inference_j * 1e6:,.3f} uJ/inference")

    windows = energy_mode.run_energy(ctx.dut, source, ctx.load, inputs, iterations=ctx.iterations, warmup=ctx.warmup,
                                     out_dir=ctx.session.directory, label=bid, done=done, on_window=on_window,
                                     timeout_s=ctx.options.infer_timeout_s)
    energy["summary"] = energy_mode.summarize_energy(windows)
    entry["summary"] = dict(energy["summary"])
    if ctx.options.check_reference:
        expected = [ctx.reference.run(i.data).scores for i in inputs[: len(windows)]]
        entry["summary"]["scores_match_reference"] = all(w.scores == e for w, e in zip(windows, expected))


MODE_RUNNERS = {"performance": _run_performance, "accuracy": _run_accuracy, "energy": _run_energy,
                "streaming": streaming_mode.run_mode}


def make_target(options: RunOptions, session: Session,
                benchmark: Benchmark) -> QemuTarget | RenodeTarget | HardwareTarget:
    """Where the firmware runs; emulators log the timestamp-pin activity into the session."""
    board = options.board
    if options.target == "hardware":
        return HardwareTarget(board, probe_id=options.probe, port=options.port, flash=options.flash)
    if options.target == "renode":
        if not board.emulator.renode_platform:
            raise RenodeError(f"board {board.name} has no Renode platform (emulator.renode_platform)")
        return RenodeTarget(board, pin_log=session.directory / f"pins-{benchmark.id}.txt",
                            workdir=session.directory / f"renode-{benchmark.id}")
    if not board.emulator.qemu_machine:
        raise QemuError(f"board {board.name} has no QEMU machine (emulator.qemu_machine); try --target renode")
    streaming = options.mode == "streaming"  # the detection/processing pins; time skips while the DUT sleeps
    return QemuTarget(board, icount_shift=options.icount_shift,
                      marker_log=session.directory / f"markers-{benchmark.id}.txt",
                      stream_pins=streaming, icount_sleep=not streaming)


def run_benchmark(session: Session, options: RunOptions, benchmark: Benchmark, progress: Progress) -> None:
    entry = session.benchmark(benchmark.id)
    if entry.get("status") == "complete":
        return  # already measured in the session being resumed
    entry.pop("error", None)
    entry["status"] = "running"
    board = options.board
    emulated = options.emulated
    iterations = options.iterations or (EMULATION_ITERATIONS if emulated else benchmark.runner_iterations)
    warmup = options.warmup if options.warmup is not None else (EMULATION_WARMUP if emulated else benchmark.runner_warmup)
    entry.update(iterations=iterations, warmup=warmup, emulated=emulated)

    progress.stage(benchmark.id, "locating model")
    model = find_model(benchmark.id, options.models_dir)
    entry["model"] = str(model)
    progress.stage(benchmark.id, "generating and building firmware")
    firmware = prepare_firmware(board, benchmark, model, "energy" if options.mode == "energy" else "perf")
    _record_firmware(entry, firmware)
    session.save()
    reference = ReferenceModel(model, benchmark)

    progress.stage(benchmark.id, f"starting {options.target}")
    target = make_target(options, session, benchmark)
    loader = None
    try:
        run = target.start(firmware.build.elf)
        # Energy-mode firmware talks at the interface board's low baud rate (9600 in the reference set-up).
        baud = board.console.energy_baud if options.mode == "energy" else board.console.baud
        with Dut(run.url, baudrate=baud, transcript=session.transcript(benchmark.id)) as dut:
            try:
                profile = dut.open()
                if profile.model != benchmark.id:
                    raise DutError(f"the firmware reports model {profile.model!r}, expected {benchmark.id!r}", "profile")
                expected_mode = "energy" if options.mode == "energy" else "performance"
                if dut.timestamp_mode() not in (None, expected_mode):
                    raise DutError(f"the firmware is in {dut.timestamp_mode()} mode, {options.mode} needs {expected_mode}")
                entry["dut"] = {"name": profile.name, "firmware": profile.firmware, "model": profile.model}
                loader = choose_loader(dut, target.kind, options.fast_load)
                entry["input_path"] = loader.name
                progress.stage(benchmark.id, f"measuring ({options.mode}, inputs via {loader.name})")
                ctx = ModeContext(session, options, benchmark, entry, firmware, reference, dut, run, target,
                                  loader.load, progress, iterations, warmup)
                try:
                    MODE_RUNNERS[options.mode](ctx)
                finally:
                    for close in ctx.cleanup:
                        close()
            except DutError as exc:
                # A lost connection usually means the emulator died: give the OS a moment to
                # report its exit, so the error can say how it ended.
                if run.exit_code() is None and isinstance(exc, DutDisconnected) and hasattr(target, "wait"):
                    target.wait(2.0)
                if run.exit_code() is not None:
                    raise DutError(f"{exc}\n  {run.describe_exit()}") from None
                raise
    finally:
        if loader is not None:
            loader.close()
        target.stop()
    entry["status"] = "complete"
    session.save()


RECOVERABLE = (DutError, QemuError, RenodeError, HardwareError, FlashError, PortError, PinwatchError, PowerMonitorError, DatasetError, OSError, ValueError, RuntimeError)


def run_session(session: Session, options: RunOptions, progress: Progress | None = None) -> bool:
    """Runs every benchmark in `options`; True when all of them completed."""
    progress = progress or Progress()
    session.results.setdefault("options", options.to_json())
    session.results.setdefault("compiler", compiler_version())
    session.results.setdefault("icount_shift", options.icount_shift if options.target == "qemu" else None)
    session.results["status"] = "running"
    for benchmark in options.benchmarks:  # entries in the order asked, whatever order they finish in
        session.benchmark(benchmark.id)

    def measure(benchmark: Benchmark) -> bool:
        try:
            run_benchmark(session, options, benchmark, progress)
            return True
        except RECOVERABLE as exc:
            with session.lock:
                entry = session.benchmark(benchmark.id)
                entry["status"] = "failed"
                entry["error"] = str(exc)
            session.note(f"failed: {exc}", benchmark.id)
            session.note(traceback.format_exc(), benchmark.id)
            session.save()
            progress.failed(benchmark.id, str(exc))
            return False

    try:
        if options.jobs > 1 and len(options.benchmarks) > 1:
            # Each benchmark has its own emulator, firmware and DUT: they share only the session.
            # Instruction counts are exact, so the figures equal a serial run's.
            with ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="tinyrig-bench") as pool:
                outcomes = list(pool.map(measure, options.benchmarks))
        else:
            outcomes = [measure(b) for b in options.benchmarks]
        ok = all(outcomes)
    finally:
        results_txt.write(session.directory, session.results)
    session.finish("complete" if ok else "incomplete")
    results_txt.write(session.directory, session.results)
    return ok
