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
from typing import Callable

from tinyrig.hil.dut import Dut
from tinyrig.hil.energy_sources import TraceSource
from tinyrig.hil.inputs import Input
from tinyrig.hil.power.trace import PowerTrace


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


def plot_trace(trace: PowerTrace, start_s: float, end_s: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5), dpi=100)
    times_ms = trace.times_s * 1e3
    ax.step(times_ms, trace.current_a * 1e3, where="post", color="tab:blue", linewidth=1.0, label="supply current")
    for event in trace.events:
        ax.axvline(event.time_s * 1e3, color="tab:gray" if event.edge == "rising" else "tab:red",
                   linewidth=0.8, linestyle=":" if event.edge == "rising" else "--")
    ax.axvspan(start_s * 1e3, end_s * 1e3, color="tab:orange", alpha=0.15, label="energy window")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("current (mA)")
    ax.set_title(title, fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_energy_window(dut: Dut, source: TraceSource, load: Callable[[Dut, bytes], None], index: int, item: Input,
                      *, iterations: int, warmup: int, out_dir: Path, label: str, timeout_s: float) -> EnergyWindowResult:
    started = time.monotonic()
    load(dut, item.data)
    source.begin_window()
    result = dut.infer(iterations, warmup, timeout_s=timeout_s)
    trace = source.end_window()
    window = trace.energy_window()
    csv_path = out_dir / f"energy_{label}_{index:03d}.csv"
    png_path = out_dir / f"energy_{label}_{index:03d}.png"
    trace.to_csv(csv_path)
    plot_trace(trace, window.start_s, window.end_s, png_path,
               f"{label} window {index + 1}: {window.energy_j * 1e6:.3f} uJ over {window.duration_s * 1e3:.3f} ms "
               f"({trace.source})")
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
    for index in range(len(windows), len(inputs)):
        window = run_energy_window(dut, source, load, index, inputs[index], iterations=iterations, warmup=warmup,
                                   out_dir=out_dir, label=label, timeout_s=timeout_s)
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
