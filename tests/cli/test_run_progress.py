"""`tinyrig run`'s progress: a line per benchmark from its first stage on (so something moves
while firmware builds), and a time-left estimate from the pace of this run's own items."""

from __future__ import annotations

import io

from rich.console import Console

from tinyrig.cli.progress import Pace, RunDisplay, format_eta


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pace_counts_only_items_measured_in_this_run():
    clock = Clock()
    pace = Pace(_clock=clock)
    assert pace.seconds_left() is None  # not measuring yet
    pace.start()
    clock.now += 30
    # A resumed session: 6 of 10 files were done before; the first report is the 7th file, 30 s in.
    pace.update(7, 10)
    assert pace.seconds_left() == 90.0  # 30 s per file, 3 files to go
    clock.now += 10
    pace.update(8, 10)
    assert pace.seconds_left() == 40.0  # 40 s for 2 files: 20 s each, 2 to go
    pace.update(10, 10)
    assert pace.seconds_left() == 0.0
    assert format_eta(90.0) == "eta 0:01:30" and format_eta(None) == "eta -:--:--"


def test_log_lines_carry_stage_and_estimate():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=80)
    with RunDisplay(console, console) as display:
        progress = display.callbacks()
        progress.stage("kws01", "generating and building firmware")
        progress.stage("kws01", "measuring (performance, inputs via semihost)")
        progress.advance("kws01", 1, 5, "2,490.3 us/inference")
        progress.failed("ad01", "model [too big] for flash")
    lines = out.getvalue().splitlines()
    assert lines[0] == "kws01: generating and building firmware"
    assert lines[2].startswith("kws01: 1/5 2,490.3 us/inference (eta 0:00:0")
    assert lines[3] == "ad01 failed: model [too big] for flash"  # brackets are text, not markup


def test_terminal_shows_a_line_from_the_first_stage():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    clock = Clock()
    with RunDisplay(console, console) as display:
        display.bar.get_time = clock  # the bar's own elapsed time follows the fake clock too
        progress = display.callbacks()
        progress.stage("vww01", "generating and building firmware")
        (task,) = display.bar.tasks
        assert task.description == "vww01" and task.fields["detail"] == "generating and building firmware"
        assert task.total is None  # a pulsing bar while nothing can be counted
        display.paces["vww01"]._clock = clock
        progress.stage("vww01", "measuring (performance, inputs via semihost)")
        clock.now += 4
        progress.advance("vww01", 1, 5, "[x] window")
        assert task.total == 5 and task.completed == 1 and task.fields["detail"] == "[x] window"
        eta = display._eta_column.render(task)
        assert eta.plain == "eta 0:00:16"
