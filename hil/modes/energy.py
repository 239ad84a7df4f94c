"""Energy mode: the performance windows run on the energy-mode firmware under a power trace.

Per window: the energy between the last two falling edges of the timestamp pin (the MLPerf Tiny
window), divided by N; the trace is saved as CSV and plotted as PNG with the window edges
marked. The result is the median over 5 windows.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from tinyrig.hil.instruments.energy_sources import EmulatedPowerModel, MonitorSource, TraceSource
from tinyrig.hil.instruments.errors import PowerMonitorError
from tinyrig.hil.instruments.monitor import get_monitor
from tinyrig.hil.modes.base import Mode, ModeContext, ModeOptionError, ModeSettings
from tinyrig.hil.modes.deadline import InferDeadline
from tinyrig.hil.modes.sww_energy import check_streaming_energy, run_streaming_energy
from tinyrig.hil.modes.window_length import calibrate
from tinyrig.hil.results.schema import (
    EnergyRecord,
    EnergySummary,
    EnergyValidity,
    EnergyWindow,
    PowerModelRecord,
)
from tinyrig.hil.targets.pinwatch import symbol_range

if TYPE_CHECKING:  # annotations only
    from tinyrig.boards import Board
    from tinyrig.hil.instruments.trace import PowerTrace
    from tinyrig.hil.dut.client import Dut
    from tinyrig.hil.dut.inputs import Input


# The records are the results schema's (hil/results/schema.py): a mode fills them, results.json keeps them.
EnergyWindowResult = EnergyWindow
WINDOWS = 5
MIN_WINDOW_S = 10.0


def trace_name(index: int) -> str:
    """The runner's name for a window's plot (`energy_inf_NNN.png`, which the submission checker
    looks for); the trace CSV shares it."""
    return f"energy_inf_{index:03d}"


def window_title(label: str, index: int, trace_name: str) -> str:
    """Windows are numbered from 0 everywhere: in results.json (`index`), in the trace files'
    names (`<id>/energy/energy_inf_000.csv`, the runner's) and in plot titles."""
    return f"{label} window {index} ({trace_name})"


def plot_trace(trace: PowerTrace, iterations: int, path: Path, title: str) -> None:
    """The window's PNG beside its CSV: the report's plot (power in mW against time in ms)."""
    from tinyrig.hil.results.plots import energy_trace_figure

    energy_trace_figure(trace, title, iterations).savefig(path, dpi=100)


def run_energy_window(dut: Dut, source: TraceSource, load: Callable[[Dut, bytes], None], index: int, item: Input,
                      *, iterations: int, warmup: int, out_dir: Path, label: str, timeout_s: float,
                      relative_to: Path | None = None, deadline: InferDeadline | None = None) -> EnergyWindowResult:
    """One window: its trace and plot go into `out_dir`, named as the runner names them; the
    record names them relative to `relative_to` (the session folder) when given."""
    started = time.monotonic()
    load(dut, item.data)
    source.begin_window()
    result = (deadline or InferDeadline(timeout_s)).infer(dut, iterations, warmup)
    trace = source.end_window()
    window = trace.energy_window()
    csv_path = out_dir / f"{trace_name(index)}.csv"
    png_path = out_dir / f"{trace_name(index)}.png"
    trace.to_csv(csv_path)
    plot_trace(trace, iterations, png_path, f"{window_title(label, index, csv_path.name)}, {trace.source}")
    line = next(l for l in result.lines if l.startswith("m-results-"))

    def named(path: Path) -> str:
        return path.relative_to(relative_to).as_posix() if relative_to is not None else path.name

    return EnergyWindowResult(
        index=index, input=item.name, iterations=iterations, warmup=warmup, window_s=window.duration_s,
        energy_j=window.energy_j, energy_per_inference_j=window.energy_j / iterations,
        latency_s=window.duration_s / iterations, average_power_w=window.average_power_w,
        trace_csv=named(csv_path), trace_png=named(png_path),
        scores=line[line.index("[") + 1 : line.rindex("]")].split(","), wall_s=time.monotonic() - started)


def run_energy(dut: Dut, source: TraceSource, load: Callable[[Dut, bytes], None], inputs: list[Input], *,
               iterations: int, warmup: int, out_dir: Path, label: str, done: list[EnergyWindowResult] | None = None,
               on_window: Callable[[EnergyWindowResult], None] | None = None,
               timeout_s: float = 900.0, relative_to: Path | None = None) -> list[EnergyWindowResult]:
    windows = list(done or [])
    deadline = InferDeadline(timeout_s)  # after the first window, derived from the last one
    for index in range(len(windows), len(inputs)):
        window = run_energy_window(dut, source, load, index, inputs[index], iterations=iterations, warmup=warmup,
                                   out_dir=out_dir, label=label, timeout_s=timeout_s, relative_to=relative_to,
                                   deadline=deadline)
        windows.append(window)
        if on_window:
            on_window(window)
    return windows


def summarize_energy(windows: list[EnergyWindowResult], emulated: bool) -> EnergySummary:
    validity = EnergyValidity(five_windows=len(windows) == WINDOWS,
                              each_window_at_least_10s=all(w.window_s >= MIN_WINDOW_S for w in windows))
    return EnergySummary(
        windows=len(windows),
        median_energy_per_inference_j=statistics.median(w.energy_per_inference_j for w in windows),
        median_latency_s=statistics.median(w.latency_s for w in windows),
        median_average_power_w=statistics.median(w.average_power_w for w in windows),
        validity=validity,
        valid=validity.five_windows and validity.each_window_at_least_10s and not emulated,
    )


class EnergyMode(Mode):
    """MLPerf Tiny energy mode: the energy-mode firmware (timestamp pin idles high, pulses low)
    under a power trace: a power monitor on a board, the board's power model in emulation."""

    name = "energy"
    firmware_env = "energy"
    timestamp_mode = "energy"

    def check(self, settings: ModeSettings, target) -> None:
        if not target.emulated and not settings.power_monitor:
            raise ModeOptionError("energy mode on a board needs a power monitor: --power-monitor lpm01a|js220|ppk2")
        if any(b.streaming for b in settings.benchmarks):
            check_streaming_energy(settings, target)  # sww01's energy is measured over its stream

    def console_baud(self, board: Board) -> int:
        # Energy-mode firmware talks at the interface board's low baud rate (9600 in the reference set-up).
        return board.console.energy_baud

    def _source(self, ctx: ModeContext) -> TraceSource:
        board, settings = ctx.settings.board, ctx.settings
        if not ctx.target.emulated:
            self.check(settings, type(ctx.target))
            monitor = get_monitor(settings.power_monitor,
                                  **({"port": settings.monitor_port} if settings.monitor_port else {}))
            monitor.open()
            ctx.on_close(monitor.close)
            monitor.configure(board.power.supply_v)
            return MonitorSource(monitor)
        markers = getattr(ctx.run, "markers", None)
        if board.timestamp_pin.driver == "none" or markers is None:
            raise PowerMonitorError(f"board {board.name} has no timestamp pin its emulator models; "
                                    f"energy windows cannot be observed", instrument="QEMU pinwatch")
        # Time from estimated cycles when the target runs the cycle model (QEMU's default).
        return EmulatedPowerModel(board, markers.read_new, symbol_range(ctx.firmware.build.elf, "board_pin_pulse"),
                                  cycles=getattr(ctx.target, "cycle_model", None) is not None)

    def run(self, ctx: ModeContext) -> None:
        if ctx.benchmark.streaming:  # the runner measures a streaming benchmark over its stream
            run_streaming_energy(ctx, None if ctx.target.emulated else self._source(ctx))
            return
        entry, bid, board = ctx.entry, ctx.benchmark.id, ctx.settings.board
        source = self._source(ctx)
        inputs = ctx.perf_inputs()
        energy = entry.energy = entry.energy or EnergyRecord()
        if not ctx.target.emulated:
            energy.power_monitor, energy.supply_v = ctx.settings.power_monitor, board.power.supply_v
        else:
            energy.clock_model, energy.clock_hz = source.clock_model, board.clock_hz
            energy.power_model = PowerModelRecord.model_validate(asdict(board.power))
        if ctx.scale_windows and not energy.windows:
            ctx.iterations = calibrate(entry, ctx.iterations, ctx.warmup,
                                       lambda n, w: self._trial(ctx, source, inputs[0], n, w),
                                       lambda text: ctx.progress.stage(bid, text))
            ctx.session.save()

        def on_window(window: EnergyWindowResult) -> None:
            energy.windows.append(window)
            ctx.session.save()
            ctx.progress.advance(bid, window.index + 1, len(inputs),
                                 f"{window.energy_per_inference_j * 1e6:,.3f} uJ/inference")

        windows = run_energy(ctx.dut, source, ctx.load, inputs, iterations=ctx.iterations, warmup=ctx.warmup,
                             out_dir=ctx.session.result_dir(bid), label=bid, done=list(energy.windows),
                             on_window=on_window, timeout_s=ctx.settings.infer_timeout_s,
                             relative_to=ctx.session.directory)
        energy.summary = summarize_energy(windows, ctx.target.emulated)
        entry.summary = energy.summary.model_copy()
        if ctx.settings.check_reference:
            expected = [ctx.reference.run(i.data).scores for i in inputs[: len(windows)]]
            entry.summary.scores_match_reference = all(w.scores == e for w, e in zip(windows, expected))

    @staticmethod
    def _trial(ctx: ModeContext, source: TraceSource, item: Input, iterations: int, warmup: int) -> float:
        """One unrecorded window under the trace: its length in seconds between the pin's edges."""
        ctx.load(ctx.dut, item.data)
        source.begin_window()
        ctx.dut.infer(iterations, warmup, timeout_s=ctx.settings.infer_timeout_s)
        return source.end_window().energy_window().duration_s
