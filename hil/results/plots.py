"""The report's plots, made with matplotlib and returned as PNG data URIs.

Figures are built with the object API (matplotlib.figure.Figure), never pyplot, so making a
report neither needs a display nor changes the backend of a program that imports tinyrig.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import numpy as np
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator

from tinyrig.hil.results import figures as F

# Sections that live in RAM; everything else is flash. `.data` is both: its initial values are
# stored in flash and copied to RAM at reset.
RAM_SECTIONS = {".data", ".bss", "(stack reserve)", ".heap", ".noinit", ".stack"}
MAX_TRACE_POINTS = 4000


def to_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# What a latency figure means depends on where it came from: QEMU's virtual time, the energy
# mode's clock model (1 instruction per cycle at the board clock) and a board's measured time
# differ by orders of magnitude for the same firmware, so each gets its own axis.
LATENCY_KINDS = {
    "virtual": "latency (us)\nvirtual time",
    "clock model": "latency (us)\nclock model",
    "measured": "latency (us)\nmeasured",
}


def latency_kind(target: str | None, mode: str | None) -> str:
    emulated = target != "hardware"
    if mode == "energy":
        return "clock model" if emulated else "measured"
    return "virtual" if emulated else "measured"


@dataclass
class Point:
    """One session's figures for one benchmark, on the time axis."""

    when: datetime
    session: str
    series: str  # board (target, mode): one line per series
    latency_us: float | None
    instructions: float | None
    window_latencies: list[float]
    highlight: bool  # one of the report's own sessions
    latency_kind: str = "virtual"  # a key of LATENCY_KINDS
    energy_uj: float | None = None  # energy per inference


class Thousands(Formatter):
    """Tick labels with thousands separators, never an offset (`+1.115e4`) or scientific
    notation, and as many decimals as the tick step needs to tell neighbouring ticks apart."""

    def __call__(self, value: float, pos=None) -> str:
        locs = sorted(self.axis.get_majorticklocs()) if self.axis is not None else []
        steps = [b - a for a, b in zip(locs, locs[1:]) if b > a]
        step = min(steps) if steps else abs(value) or 1.0
        decimals = max(0, min(6, -math.floor(round(math.log10(step), 6)))) if step < 1 else 0
        return f"{value:,.{decimals}f}"


def _plain_axis(axis) -> None:
    axis.set_major_formatter(Thousands())


def _dated(ax) -> None:
    """Date and time on every tick (UTC): a history spans days, and a night's runs sit hours apart."""
    locator = AutoDateLocator(minticks=3, maxticks=8)
    formatter = ConciseDateFormatter(locator, tz=timezone.utc, show_offset=False,
                                     formats=["%Y", "%d %b %Y", "%d %b %Y", "%d %b %H:%M", "%d %b %H:%M",
                                              "%d %b %H:%M:%S"],
                                     zero_formats=["%Y", "%d %b %Y", "%d %b %Y", "%d %b %H:%M", "%d %b %H:%M",
                                                   "%d %b %H:%M:%S"])
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel("date (UTC)")


def over_time(benchmark: str, points: list[Point]) -> str:
    fig = over_time_figure(benchmark, points)
    return to_data_uri(fig) if fig is not None else ""


def over_time_figure(benchmark: str, points: list[Point]) -> Figure | None:
    """One panel per quantity (each latency kind, instructions, energy), one line per series."""
    panels: list[tuple[str, str, Callable[[Point], float | None]]] = []
    for kind, label in LATENCY_KINDS.items():
        if any(p.latency_kind == kind and p.latency_us is not None for p in points):
            panels.append(("latency", label, lambda p, kind=kind: p.latency_us if p.latency_kind == kind else None))
    if any(p.instructions is not None for p in points):
        panels.append(("instructions", "instructions\n/ inference", lambda p: p.instructions))
    if any(p.energy_uj is not None for p in points):
        panels.append(("energy", "energy (uJ)\n/ inference", lambda p: p.energy_uj))
    if not panels:
        return None
    fig = Figure(figsize=(9, 0.9 + 1.9 * len(panels)))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    series_names = sorted({p.series for p in points})
    for (what, label, value), ax in zip(panels, axes):
        for n, series in enumerate(series_names):
            mine = sorted((p for p in points if p.series == series), key=lambda p: p.when)
            values = [(p.when, value(p)) for p in mine if value(p) is not None]
            if values:
                ax.plot([t for t, _ in values], [v for _, v in values], marker="o", color=f"C{n % 10}", label=series)
            if what == "latency":
                for p in mine:  # each window of the report's sessions: the spread behind a median
                    if p.highlight and p.window_latencies and value(p) is not None:
                        ax.scatter([p.when] * len(p.window_latencies), p.window_latencies, s=8, color="grey",
                                   zorder=3)
        ax.set_ylabel(label, fontsize="small")
        _plain_axis(ax.yaxis)
        ax.grid(True, alpha=0.3)
    axes[0].set_title(f"{benchmark} over time")
    handles = {}
    for ax in axes:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(name, handle)
    fig.legend(list(handles.values()), list(handles.keys()), loc="upper center", fontsize="small",
               ncol=min(3, len(handles)), bbox_to_anchor=(0.5, 0.0))
    _dated(axes[-1])
    fig.tight_layout()
    return fig


def _occupies(section: str, memory_kind: str) -> bool:
    if section == ".data":
        return True
    return (section in RAM_SECTIONS) == (memory_kind == "RAM")


def memory(title: str, entries: dict[str, dict]) -> str | None:
    """Stacked flash and RAM bars per benchmark, by section, with the capacity in the label."""
    rows = [(bid, e.get("firmware") or {}) for bid, e in entries.items() if (e.get("firmware") or {}).get("sections")]
    if not rows:
        return None
    fig = Figure(figsize=(9, 0.9 + 0.75 * len(rows)))
    ax = fig.subplots()
    labels, y = [], 0
    colors: dict[str, str] = {}
    palette = iter(["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                    "#9c755f", "#bab0ac"] * 3)
    for bid, fw in rows:
        for kind in ("RAM", "flash"):
            left = 0
            for name, size in fw["sections"].items():
                if not isinstance(size, int) or size <= 0 or not _occupies(name, kind):
                    continue
                color = colors.setdefault(name, next(palette))
                ax.barh(y, size / 1024, left=left / 1024, color=color,
                        label=name if name not in ax.get_legend_handles_labels()[1] else None)
                left += size
            cap = fw.get(f"{kind.lower()}_capacity")
            pct = f", {left / cap * 100:.1f}% of {cap // 1024:,} KiB" if isinstance(cap, int) and cap else ""
            labels.append(f"{bid} {kind}{pct}")
            y += 1
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("KiB")
    _plain_axis(ax.xaxis)
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, axis="x", alpha=0.3)
    return to_data_uri(fig)


def confusion(title: str, conf: F.Confusion) -> str:
    matrix = np.array(conf.matrix)
    size = len(conf.labels)
    fig = Figure(figsize=(1.2 + 0.45 * size, 1.0 + 0.45 * size))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    bar = fig.colorbar(image, ax=ax, fraction=0.046)
    bar.locator = MaxNLocator(integer=True)  # counts of files
    bar.update_ticks()
    ax.set_xticks(range(size), conf.labels, rotation=90, fontsize="small")
    ax.set_yticks(range(size), conf.labels, fontsize="small")
    ax.set_xlabel("predicted")
    ax.set_ylabel("label")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    if size <= 16:
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize="x-small",
                    color="white" if value > threshold else "black")
    return to_data_uri(fig)


def energy_trace_figure(trace, title: str, iterations: int | None = None) -> Figure:
    """A power trace in the one unit system energy figures use everywhere: power in mW against
    time in ms, the MLPerf Tiny window (between the last two falling edges of the timestamp
    pin) shaded, and, when the window's inference count is known, the boundaries of its N
    inferences: the firmware marks only the window's ends, and its N inferences run back to back
    on one input, so they split the window into N equal parts."""
    from tinyrig.hil.instruments.errors import MissingEventError

    power_mw = trace.power_w * 1e3
    times_ms = trace.times_s * 1e3
    if len(power_mw) > MAX_TRACE_POINTS:  # block means keep the file small and the area right
        block = int(np.ceil(len(power_mw) / MAX_TRACE_POINTS))
        cut = len(power_mw) // block * block
        power_mw = power_mw[:cut].reshape(-1, block).mean(axis=1)
        times_ms = times_ms[:cut:block]
    fig = Figure(figsize=(9, 2.8))
    ax = fig.subplots()
    ax.step(times_ms, power_mw, where="post", color="tab:blue", linewidth=0.9, label="power")
    for event in trace.events:
        ax.axvline(event.time_s * 1e3, color="tab:red" if event.edge == "falling" else "tab:gray",
                   linewidth=0.8, linestyle="--" if event.edge == "falling" else ":")
    try:
        window = trace.energy_window()
    except MissingEventError:
        window = None
    if window is not None:
        start, end = window.start_s * 1e3, window.end_s * 1e3
        per = f", {window.energy_j / iterations * 1e6:,.3f} uJ per inference" if iterations else ""
        ax.axvspan(start, end, color="tab:orange", alpha=0.15,
                   label=f"window: {window.energy_j * 1e6:,.3f} uJ in {end - start:,.3f} ms{per}")
        if iterations and iterations > 1:
            step = (end - start) / iterations
            for k in range(1, iterations):
                ax.axvline(start + k * step, color="tab:purple", linewidth=0.8, linestyle=":",
                           label=f"{iterations} inferences" if k == 1 else None)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("power (mW)")
    ax.set_ylim(bottom=0, top=max(float(power_mw.max()) if len(power_mw) else 1.0, 1e-9) * 1.25)
    _plain_axis(ax.xaxis)
    _plain_axis(ax.yaxis)
    ax.set_title(title + ("" if trace.complete else f" (incomplete: {trace.error})"), fontsize="medium")
    ax.legend(loc="lower right", fontsize="x-small")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def energy_trace(title: str, trace, iterations: int | None = None) -> str:
    return to_data_uri(energy_trace_figure(trace, title, iterations))
