"""`tinyrig run`: for each benchmark, the stages model -> build -> target -> dut -> mode -> results.

Each benchmark is measured independently: a failure (a model that does not fit, a firmware
that stops answering, a dead emulator) is recorded against that benchmark with a clear error,
and the others still run. Every finished window or dataset file is saved the moment it
finishes, and a resumed session (`tinyrig run --resume SESSION`) skips what is already there.
"""

from __future__ import annotations

import enum
import subprocess
import traceback
from concurrent.futures import ThreadPoolExecutor

from typing import TYPE_CHECKING

from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.hil.dut.client import DutError
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.hil.instruments.errors import PowerMonitorError
from tinyrig.hil.modes.base import ModeContext, Progress
from tinyrig.hil.modes.registry import get_mode
from tinyrig.hil.run.bench import Bench
from tinyrig.hil.run.options import RunOptions
from tinyrig.hil.run.records import record_dut, record_emulator, record_firmware, record_prediction
from tinyrig.models import find_model

if TYPE_CHECKING:
    from tinyrig.benchmarks import Benchmark
    from tinyrig.hil.results.session import Session

__all__ = ["Progress", "RunOptions", "Stage", "run_benchmark", "run_session"]

# Emulated instruction counts are deterministic, so short windows suffice there; on hardware
# the MLPerf Tiny runner's per-benchmark N and W apply, N raised to windows of >= 10 s.
EMULATION_ITERATIONS = 3
EMULATION_WARMUP = 1


class Stage(enum.Enum):
    """The stages of one benchmark, in order; the progress display shows each as it starts."""

    LOCATE_MODEL = "locating model"
    BUILD = "generating and building firmware"
    START_TARGET = "starting {target}"
    MEASURE = "measuring ({mode}, inputs via {loader})"
    PREDICT = "timing one inference as {board} (its flash, then zero wait states)"

    def describe(self, **facts: str) -> str:
        return self.value.format(**facts)


def compiler_version() -> str:
    try:
        out = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.splitlines()[0].strip()
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def window_plan(options: RunOptions, benchmark: Benchmark, emulated: bool) -> tuple[int, int, bool]:
    """(N, W, scale N to 10 s windows): --iterations/--warmup as given; else the emulation
    defaults, or on hardware the runner's per-benchmark values for the mode, N then scaled."""
    runner_n, runner_w = benchmark.runner_window(options.mode)
    iterations = options.iterations or (EMULATION_ITERATIONS if emulated else runner_n)
    warmup = options.warmup if options.warmup is not None else (EMULATION_WARMUP if emulated else runner_w)
    return iterations, warmup, not emulated and not options.iterations


def run_benchmark(session: Session, options: RunOptions, benchmark: Benchmark, progress: Progress) -> None:
    entry = session.benchmark(benchmark.id)
    if entry.status == "complete":
        return  # already measured in the session being resumed
    entry.error = None
    entry.status = "running"
    mode = get_mode(options.mode)
    target_class = options.target_class
    settings = options.mode_settings()
    mode.check(settings, target_class)  # before anything is built
    emulated = target_class.emulated
    iterations, warmup, scale_windows = window_plan(options, benchmark, emulated)
    if entry.calibration is not None:  # resumed after the trial window: keep its N
        iterations, scale_windows = entry.calibration.scaled_iterations, False
    entry.iterations, entry.warmup, entry.emulated = iterations, warmup, emulated

    progress.stage(benchmark.id, Stage.LOCATE_MODEL.describe())
    model = find_model(benchmark.id, options.models_dir)
    entry.model = str(model)
    progress.stage(benchmark.id, Stage.BUILD.describe())
    firmware = prepare_firmware(options.board, benchmark, model, mode.firmware_env)
    record_firmware(entry, firmware)
    session.save()
    reference = ReferenceModel(model, benchmark)

    # A board is flashed as it starts, which takes a while: the stage line says so.
    flashing = not emulated and options.flash
    progress.stage(benchmark.id, Stage.START_TARGET.describe(
        target=target_class.kind + (f" (flashing {firmware.build.elf.name} first)" if flashing else "")))
    target = target_class.create(options.board, options.target_settings(session.emulator_dir(), benchmark.id))
    with Bench(target, firmware.build.elf, baudrate=mode.console_baud(options.board),
               transcript=session.transcript(benchmark.id)) as bench:
        try:
            record_emulator(entry, bench.run)
            profile = bench.handshake(expected_model=benchmark.id, expected_mode=mode.timestamp_mode)
            record_dut(entry, profile)
            loader = bench.loader(options.fast_load)
            entry.input_path = loader.name
            progress.stage(benchmark.id, Stage.MEASURE.describe(mode=mode.name, loader=loader.name))
            ctx = ModeContext(session, settings, benchmark, entry, firmware, reference, bench.dut, bench.run,
                              target, loader.load, progress, iterations, warmup, bench.on_close,
                              scale_windows=scale_windows)
            mode.run(ctx)
            first_input = ctx.perf_inputs()[0].data if options.predict and mode.name == "performance" else None
        except DutError as exc:
            raise bench.explain(exc) from None
    if first_input is not None:  # after the run's emulator has stopped: one QEMU at a time per benchmark
        timing = options.prediction_model()
        progress.stage(benchmark.id, Stage.PREDICT.describe(board=timing.timing_board))
        record_prediction(entry, options.board, benchmark, timing, firmware.build.elf, first_input,
                          options.infer_timeout_s,
                          rebuild=lambda mcu: prepare_firmware(options.board, benchmark, model,
                                                               mode.firmware_env, code_for=mcu))
    entry.status = "complete"
    session.save()


# A benchmark that fails with one of these is recorded as failed, and the others still run:
# RuntimeError covers DutError and every TargetError (emulators, flashing, ports, pinwatch),
# ValueError the option, dataset, model and board errors, OSError files and sockets.
RECOVERABLE = (RuntimeError, ValueError, OSError, PowerMonitorError)


def run_session(session: Session, options: RunOptions, progress: Progress | None = None) -> bool:
    """Runs every benchmark in `options`; True when all of them completed."""
    progress = progress or Progress()
    results = session.results
    results.options = results.options or options.to_record()
    results.compiler = results.compiler or compiler_version()
    if results.icount_shift is None and options.target_class.kind == "qemu":
        results.icount_shift = options.icount_shift
    results.status = "running"
    for benchmark in options.benchmarks:  # entries in the order asked, whatever order they finish in
        session.benchmark(benchmark.id)

    def measure(benchmark: Benchmark) -> bool:
        try:
            run_benchmark(session, options, benchmark, progress)
            return True
        except RECOVERABLE as exc:
            with session.lock:
                entry = session.benchmark(benchmark.id)
                entry.status = "failed"
                entry.error = str(exc)
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
        session.write_result_folders()  # whatever happens, the folders say what results.json says
    session.finish("complete" if ok else "incomplete")
    return ok
