"""The report's plots read as they should: dated time axes, thousands separators and no offset
notation, each latency kind on its own axis, class names on confusion matrices, energy traces
in mW against ms with the window's inferences marked."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import numpy as np

from tinyrig_testing.results_support import ACCURACY_SESSION, ENERGY_SESSION, load
from tinyrig.benchmarks import get_benchmark
from tinyrig.hil.instruments.trace import PinEvent, PowerTrace
from tinyrig.hil.modes.energy import window_title
from tinyrig.hil.results import figures as F
from tinyrig.hil.results import plots

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


def _labels(axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def test_history_axes_are_dated_separated_and_plain():
    points = []
    for day in range(4):
        when = T0 + timedelta(days=day, minutes=7 * day)
        # Emulated performance: ~11,150 instructions (matplotlib's default would print +1.115e4).
        points.append(plots.Point(when, f"p{day}", "board (qemu, performance)", 11.15 + day * 0.001,
                                  11_150 + day, [], False, "virtual"))
        # Energy mode: the clock model's latency, 40 times longer, with its energy.
        points.append(plots.Point(when + timedelta(minutes=1), f"e{day}", "board (qemu, energy)", 446.0 + day,
                                  None, [], False, "clock model", 473.881 + day))
    fig = plots.over_time_figure("kws01", points)
    fig.canvas.draw()
    axes = fig.axes
    assert [a.get_ylabel() for a in axes] == ["latency (us)\nvirtual time", "latency (us)\nclock model",
                                              "instructions\n/ inference", "energy (uJ)\n/ inference"]
    # One line per series, each latency kind on its own axis.
    assert [line.get_label() for line in axes[0].get_lines()] == ["board (qemu, performance)"]
    assert [line.get_label() for line in axes[1].get_lines()] == ["board (qemu, energy)"]
    for ax in axes:
        assert ax.yaxis.get_offset_text().get_text() == ""
    instructions = _labels(axes[2].yaxis)
    assert instructions and all(re.fullmatch(r"\d{1,3}(,\d{3})*(\.\d+)?", t) for t in instructions), instructions
    assert any("," in t for t in instructions)
    assert len(set(_labels(axes[0].yaxis))) == len(_labels(axes[0].yaxis))  # small steps keep their decimals
    dates = _labels(axes[-1].xaxis)
    assert dates and all(re.search(r"\d{1,2} (Nov|Dec) ", t) or re.fullmatch(r"\d{1,2} \w{3} 2026", t)
                         for t in dates), dates
    assert axes[-1].get_xlabel() == "date (UTC)"


def test_confusion_matrix_uses_class_names():
    entry = load(ACCURACY_SESSION)["benchmarks"]["kws01"]
    conf = F.confusion_matrix(entry, get_benchmark("kws01").class_names)
    assert conf.labels[:3] == ["down", "go", "left"] and conf.labels[-2:] == ["silence", "unknown"]
    assert F.confusion_matrix(entry).labels[:2] == ["0", "1"]  # without names: numbers, as before
    assert plots.confusion("kws01", conf).startswith("data:image/png;base64,")


def test_energy_trace_in_mw_and_ms_with_inference_marks():
    trace = PowerTrace.from_current(np.full(1000, 0.00275), sample_period_s=1e-4, supply_voltage_v=3.0,
                                    events=[PinEvent(0.01, "falling"), PinEvent(0.0101, "rising"),
                                            PinEvent(0.07, "falling"), PinEvent(0.0701, "rising")])
    fig = plots.energy_trace_figure(trace, window_title("ad01", 0, "energy_ad01_000.csv"), iterations=3)
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("time (ms)", "power (mW)")
    assert ax.get_title() == "ad01 window 0 (energy_ad01_000.csv)"
    power = ax.get_lines()[0]
    assert np.allclose(power.get_ydata(), 8.25) and np.isclose(max(power.get_xdata()), 99.9)
    marks = sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"
                   and line.get_color() == "tab:purple")
    assert np.allclose(marks, [30.0, 50.0])  # the 60 ms window split into 3 inferences
    window = next(t for t in ax.get_legend().get_texts() if t.get_text().startswith("window"))
    assert window.get_text() == "window: 495.000 uJ in 60.000 ms, 165.000 uJ per inference"


def test_stored_energy_trace_plots_in_the_same_units():
    trace = PowerTrace.from_csv(ENERGY_SESSION / "energy_ad01_000.csv")
    (ax,) = plots.energy_trace_figure(trace, "t", iterations=3).axes
    assert ax.get_ylabel() == "power (mW)" and np.isclose(ax.get_lines()[0].get_ydata().max(), 8.25)
    assert ax.get_xlim()[1] > 150  # ms: the stored window is 172 ms long
