"""`tinyrig run`: generate, build, start the target, drive the DUT, and record a session.

Each benchmark is measured independently: a failure (a model that does not fit, a firmware
that stops answering, a dead emulator) is recorded against that benchmark with a clear error,
and the others still run. Every finished window is saved the moment it finishes.
"""

from __future__ import annotations

import subprocess
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinyrig.benchmarks import Benchmark
from tinyrig.boards import Board
from tinyrig.firmware_cache import Firmware, prepare_firmware
from tinyrig.hil.dut import Dut, DutError
from tinyrig.hil.inputs import dataset_inputs, random_inputs
from tinyrig.hil.modes.performance import (
    WINDOWS,
    run_performance,
    summarize,
    window_from_dict,
    window_to_dict,
)
from tinyrig.hil.qemu import QemuError, QemuTarget
from tinyrig.hil.reference import ReferenceModel
from tinyrig.hil.session import Session
from tinyrig.models import find_model

# Emulated instruction counts are deterministic, so short windows suffice there; on hardware
# the MLPerf Tiny runner's per-benchmark N (windows of >= 10 s) applies.
EMULATION_ITERATIONS = 3
EMULATION_WARMUP = 1


@dataclass
class RunOptions:
    board: Board
    benchmarks: list[Benchmark]
    models_dir: Path | None = None
    iterations: int | None = None
    warmup: int | None = None
    windows: int = WINDOWS
    seed: int = 0
    dataset: Path | None = None
    check_reference: bool = True
    icount_shift: int = 0
    infer_timeout_s: float = 900.0


@dataclass
class Progress:
    """Callbacks for a front end (the CLI's progress display); all optional."""

    stage: Callable[[str, str], None] = lambda benchmark, what: None
    window: Callable[[str, dict], None] = lambda benchmark, window: None
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


def run_benchmark(session: Session, options: RunOptions, benchmark: Benchmark, progress: Progress) -> None:
    entry = session.benchmark(benchmark.id)
    if entry.get("status") == "complete":
        return  # already measured in the session being resumed
    entry["status"] = "running"
    emulated = options.board.is_emulated
    iterations = options.iterations or (EMULATION_ITERATIONS if emulated else benchmark.runner_iterations)
    warmup = options.warmup if options.warmup is not None else (EMULATION_WARMUP if emulated else benchmark.runner_warmup)
    entry.update(iterations=iterations, warmup=warmup, emulated=emulated)

    progress.stage(benchmark.id, "locating model")
    model = find_model(benchmark.id, options.models_dir)
    entry["model"] = str(model)
    progress.stage(benchmark.id, "generating and building firmware")
    firmware = prepare_firmware(options.board, benchmark, model)
    _record_firmware(entry, firmware)
    session.save()

    reference = ReferenceModel(model, benchmark)
    if options.dataset:
        inputs = dataset_inputs(benchmark, options.dataset, options.windows)
    else:
        scale, zero_point = reference.input_quantization()
        inputs = random_inputs(benchmark, options.windows, options.seed, scale, zero_point)
    entry["inputs"] = "dataset" if options.dataset else f"random (seed {options.seed})"

    done = [window_from_dict(w) for w in entry.get("windows", [])]
    entry["windows"] = [window_to_dict(w) for w in done]

    def on_window(window) -> None:
        entry["windows"].append(window_to_dict(window))
        session.save()
        progress.window(benchmark.id, window_to_dict(window))

    progress.stage(benchmark.id, f"starting {options.board.emulator.kind or 'target'}")
    target = QemuTarget(options.board, icount_shift=options.icount_shift,
                        marker_log=session.directory / f"markers-{benchmark.id}.txt")
    try:
        run = target.start(firmware.build.elf)
        with Dut(run.url, transcript=session.log) as dut:
            try:
                profile = dut.open()
                if profile.model != benchmark.id:
                    raise DutError(f"the firmware reports model {profile.model!r}, expected {benchmark.id!r}", "profile")
                entry["dut"] = {"name": profile.name, "firmware": profile.firmware, "model": profile.model}
                progress.stage(benchmark.id, "measuring")
                windows = run_performance(dut, benchmark, inputs, iterations=iterations, warmup=warmup,
                                          icount_shift=options.icount_shift if emulated else None,
                                          reference=reference if options.check_reference else None, done=done, on_window=on_window,
                                          infer_timeout_s=options.infer_timeout_s,
                                          marks=run.new_window_marks if run.markers else None)
            except DutError as exc:
                if run.exit_code() is not None:
                    raise QemuError(f"{exc}\n  {run.describe_exit()}") from None
                raise
    finally:
        target.stop()
    summary = summarize(windows, firmware.project.total_macs, emulated)
    entry["summary"] = summary.__dict__
    entry["status"] = "complete"
    session.save()


def run_session(session: Session, options: RunOptions, progress: Progress | None = None) -> bool:
    """Runs every benchmark in `options`; True when all of them completed."""
    progress = progress or Progress()
    session.results.setdefault("compiler", compiler_version())
    session.results.setdefault("icount_shift", options.icount_shift if options.board.is_emulated else None)
    ok = True
    for benchmark in options.benchmarks:
        try:
            run_benchmark(session, options, benchmark, progress)
        except (DutError, QemuError, OSError, ValueError, RuntimeError) as exc:
            ok = False
            entry = session.benchmark(benchmark.id)
            entry["status"] = "failed"
            entry["error"] = str(exc)
            session.note(f"{benchmark.id} failed: {exc}")
            session.note(traceback.format_exc())
            session.save()
            progress.failed(benchmark.id, str(exc))
    session.finish("complete" if ok else "incomplete")
    return ok
