"""The report's plots, made with matplotlib and returned as PNG data URIs.

Figures are built with the object API (matplotlib.figure.Figure), never pyplot, so making a
report neither needs a display nor changes the backend of a program that imports tinyrig.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from matplotlib.figure import Figure

from tinyrig.hil.results import figures as F

# Sections that live in RAM; everything else is flash. `.data` is both: its initial values are
# stored in flash and copied to RAM at reset.
RAM_SECTIONS = {".data", ".bss", "(stack reserve)", ".heap", ".noinit", ".stack"}
MAX_TRACE_POINTS = 4000


def to_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass
class Point:
    """One session's figures for one benchmark, on the time axis."""

    when: datetime
    session: str
    series: str  # e.g. the board
    latency_us: float | None
    instructions: float | None
    window_latencies: list[float]
    highlight: bool  # one of the report's own sessions


def over_time(benchmark: str, points: list[Point]) -> str:
    fig = Figure(figsize=(9, 4.6))
    ax_lat, ax_ins = fig.subplots(2, 1, sharex=True)
    for n, series in enumerate(sorted({p.series for p in points})):
        color = f"C{n % 10}"  # one colour per series in both panels
        mine = sorted((p for p in points if p.series == series), key=lambda p: p.when)
        lat = [(p.when, p.latency_us) for p in mine if p.latency_us is not None]
        ins = [(p.when, p.instructions) for p in mine if p.instructions is not None]
        if lat:
            ax_lat.plot([t for t, _ in lat], [v for _, v in lat], marker="o", color=color, label=series)
        if ins:
            ax_ins.plot([t for t, _ in ins], [v for _, v in ins], marker="o", color=color, label=series)
        for p in mine:  # each window of the report's sessions, to show the spread behind a median
            if p.highlight and p.window_latencies:
                ax_lat.scatter([p.when] * len(p.window_latencies), p.window_latencies, s=8, color="grey", zorder=3)
    ax_lat.set_ylabel("median latency (us)")
    ax_ins.set_ylabel("instructions / inference")
    ax_ins.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax_lat.set_title(f"{benchmark}: latency and instructions over time")
    for ax in (ax_lat, ax_ins):
        ax.grid(True, alpha=0.3)
    if len({p.series for p in points}) > 1:
        ax_lat.legend(fontsize="small")
    fig.autofmt_xdate()
    return to_data_uri(fig)


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
            pct = f", {left / cap * 100:.1f}% of {cap // 1024} KiB" if isinstance(cap, int) and cap else ""
            labels.append(f"{bid} {kind}{pct}")
            y += 1
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("KiB")
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
    fig.colorbar(image, ax=ax, fraction=0.046)
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


def energy_trace(title: str, trace) -> str:
    """Power over time, with each window between falling timestamp-pin edges shaded and labelled
    with its energy."""
    power = trace.power_w * 1e3
    times = trace.times_s
    if len(power) > MAX_TRACE_POINTS:  # block means keep the file small and the area right
        block = int(np.ceil(len(power) / MAX_TRACE_POINTS))
        cut = len(power) // block * block
        power = power[:cut].reshape(-1, block).mean(axis=1)
        times = times[:cut:block]
    fig = Figure(figsize=(9, 3))
    ax = fig.subplots()
    ax.plot(times, power, linewidth=0.7)
    edges = [e.time_s for e in trace.falling_edges()]
    for n, (t0, t1) in enumerate(zip(edges, edges[1:])):
        ax.axvspan(t0, t1, color="tab:orange" if n % 2 else "tab:green", alpha=0.15)
        ax.text((t0 + t1) / 2, 0.98, f"{trace.energy_between(t0, t1) * 1e3:.3g} mJ", transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize="x-small")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("power (mW)")
    ax.set_title(title + ("" if trace.complete else f" (incomplete: {trace.error})"))
    ax.grid(True, alpha=0.3)
    return to_data_uri(fig)
