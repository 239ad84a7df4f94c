"""Energy mode: the performance windows run on the energy-mode firmware under a power trace.

Per window: the energy between the last two falling edges of the timestamp pin (the MLPerf Tiny
window), divided by N; the trace is saved as CSV and plotted as PNG with the window edges
marked. The result is the median over 5 windows.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from tinyrig.boards import Board
from tinyrig.hil.instruments.energy_sources import EmulatedPowerModel, MonitorSource, TraceSource
from tinyrig.hil.instruments.errors import PowerMonitorError
from tinyrig.hil.instruments.monitor import get_monitor
from tinyrig.hil.instruments.trace import PowerTrace
from tinyrig.hil.modes.base import Mode, ModeContext, ModeOptionError, ModeSettings
from tinyrig.hil.modes.deadline import InferDeadline
from tinyrig.hil.targets.pinwatch import symbol_range

if TYPE_CHECKING:  # annotations only
    from tinyrig.hil.dut.client import Dut
    from tinyrig.hil.dut.inputs import Input


@dataclass
class EnergyWindowResult:
    index: int
    input: str
    iterations: int
    warmup: int
    window_s: float
    energy_j: float
    energy_per_inference_j: float
    latency_s: float
    average_power_w: float
    trace_csv: str
    trace_png: str
    scores: list[str]
    wall_s: float


def window_title(label: str, index: int, trace_name: str) -> str:
    """Windows are numbered from 0 everywhere: in results.json (`index`), in the trace files'
    names (`energy_<id>_000.csv`) and in plot titles."""
    return f"{label} window {index} ({trace_name})"


def plot_trace(trace: PowerTrace, iterations: int, path: Path, title: str) -> None:
    """The window's PNG beside its CSV: the report's plot (power in mW against time in ms)."""
    from tinyrig.hil.results.plots import energy_trace_figure

    energy_trace_figure(trace, title, iterations).savefig(path, dpi=100)


def run_energy_window(dut: Dut, source: TraceSource, load: Callable[[Dut, bytes], None], index: int, item: Input,
                      *, iterations: int, warmup: int, out_dir: Path, label: str, timeout_s: float,
                      deadline: InferDeadline | None = None) -> EnergyWindowResult:
    started = time.monotonic()
    load(dut, item.data)
    source.begin_window()
    result = (deadline or InferDeadline(timeout_s)).infer(dut, iterations, warmup)
    trace = source.end_window()
    window = trace.energy_window()
    csv_path = out_dir / f"energy_{label}_{index:03d}.csv"
    png_path = out_dir / f"energy_{label}_{index:03d}.png"
    trace.to_csv(csv_path)
    plot_trace(trace, iterations, png_path, f"{window_title(label, index, csv_path.name)}, {trace.source}")
    line = next(l for l in result.lines if l.startswith("m-results-"))
    return EnergyWindowResult(
        index=index, input=item.name, iterations=iterations, warmup=warmup, window_s=window.duration_s,
        energy_j=window.energy_j, energy_per_inference_j=window.energy_j / iterations,
        latency_s=window.duration_s / iterations, average_power_w=window.average_power_w,
        trace_csv=csv_path.name, trace_png=png_path.name,
        scores=line[line.index("[") + 1 : line.rindex("]")].split(","), wall_s=time.monotonic() - started)


def run_energy(dut: Dut, source: TraceSource, load: Callable[[Dut, bytes], None], inputs: list[Input], *,
               iterations: int, warmup: int, out_dir: Path, label: str, done: list[EnergyWindowResult] | None = None,
               on_window: Callable[[EnergyWindowResult], None] | None = None,
               timeout_s: float = 900.0) -> list[EnergyWindowResult]:
    windows = list(done or [])
    deadline = InferDeadline(timeout_s)  # after the first window, derived from the last one
    for index in range(len(windows), len(inputs)):
        window = run_energy_window(dut, source, load, index, inputs[index], iterations=iterations, warmup=warmup,
                                   out_dir=out_dir, label=label, timeout_s=timeout_s, deadline=deadline)
        windows.append(window)
        if on_window:
            on_window(window)
    return windows


def summarize_energy(windows: list[EnergyWindowResult]) -> dict:
    return {
        "windows": len(windows),
        "median_energy_per_inference_j": statistics.median(w.energy_per_inference_j for w in windows),
        "median_latency_s": statistics.median(w.latency_s for w in windows),
        "median_average_power_w": statistics.median(w.average_power_w for w in windows),
        "validity": {
            "five_windows": len(windows) == 5,
            "each_window_at_least_10s": all(w.window_s >= 10.0 for w in windows),
        },
    }


def window_to_dict(window: EnergyWindowResult) -> dict:
    return asdict(window)


def window_from_dict(data: dict) -> EnergyWindowResult:
    return EnergyWindowResult(**data)


class EnergyMode(Mode):
    """MLPerf Tiny energy mode: the energy-mode firmware (timestamp pin idles high, pulses low)
    under a power trace: a power monitor on a board, the board's power model in emulation."""

    name = "energy"
    firmware_env = "energy"
    timestamp_mode = "energy"

    def check(self, settings: ModeSettings, target) -> None:
        if not target.emulated and not settings.power_monitor:
            raise ModeOptionError("energy mode on a board needs a power monitor: --power-monitor lpm01a|js220|ppk2")

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
            ctx.cleanup.append(monitor.close)
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
        entry, bid, board = ctx.entry, ctx.benchmark.id, ctx.settings.board
        source = self._source(ctx)
        inputs = ctx.perf_inputs()
        energy = entry.setdefault("energy", {"windows": []})
        if not ctx.target.emulated:
            energy.update(power_monitor=ctx.settings.power_monitor, supply_v=board.power.supply_v)
        else:
            energy.update(clock_model=source.clock_model, clock_hz=board.clock_hz, power_model=asdict(board.power))
        done = [window_from_dict(w) for w in energy["windows"]]

        def on_window(window: EnergyWindowResult) -> None:
            energy["windows"].append(window_to_dict(window))
            ctx.session.save()
            ctx.progress.advance(bid, window.index + 1, len(inputs),
                                 f"{window.energy_per_inference_j * 1e6:,.3f} uJ/inference")

        windows = run_energy(ctx.dut, source, ctx.load, inputs, iterations=ctx.iterations, warmup=ctx.warmup,
                             out_dir=ctx.session.directory, label=bid, done=done, on_window=on_window,
                             timeout_s=ctx.settings.infer_timeout_s)
        energy["summary"] = summarize_energy(windows)
        entry["summary"] = dict(energy["summary"])
        if ctx.settings.check_reference:
            expected = [ctx.reference.run(i.data).scores for i in inputs[: len(windows)]]
            entry["summary"]["scores_match_reference"] = all(w.scores == e for w, e in zip(windows, expected))
