"""Hardware windows of at least 10 s: the MLPerf Tiny rule, met by measuring before measuring.

The runner's scripts fix N per benchmark (tinyrig.benchmarks: runner_window), sized for the
reference board; a faster chip finishes them in under 10 s and the run is not valid. So on
hardware, unless --iterations says otherwise, one trial window runs with the runner's N on the
first input and N is raised in proportion, with a margin for inputs that run a little faster,
so that every recorded window lasts at least 10 s of device time. N is never lowered below the
runner's. The trial is recorded (`calibration` in results.json), not counted as a window.
"""

from __future__ import annotations

import math
from typing import Callable

from tinyrig.hil.results.schema import BenchmarkEntry, WindowCalibration

MIN_WINDOW_S = 10.0
MARGIN = 0.05  # windows aim at 10.5 s


class WindowLengthError(RuntimeError):
    """The trial window reported no duration, so N cannot be scaled."""


def scaled_iterations(iterations: int, window_s: float, *, min_s: float = MIN_WINDOW_S, margin: float = MARGIN) -> int:
    """The smallest N >= `iterations` whose window, at the trial's rate, lasts (1 + margin) x min_s."""
    if not window_s > 0:
        raise WindowLengthError(f"the trial window of {iterations} inferences reported a duration of {window_s} s")
    goal = min_s * (1 + margin)
    if window_s >= goal:
        return iterations
    return max(iterations, math.ceil(iterations * goal / window_s))


def calibrate(entry: BenchmarkEntry, iterations: int, warmup: int, measure: Callable[[int, int], float],
              note: Callable[[str], None] = lambda text: None) -> int:
    """Runs the trial window (`measure(N, W)` -> its device seconds) and records the N to use."""
    window_s = measure(iterations, warmup)
    scaled = scaled_iterations(iterations, window_s)
    entry.calibration = WindowCalibration(iterations=iterations, warmup=warmup, window_s=window_s,
                                          scaled_iterations=scaled, min_window_s=MIN_WINDOW_S)
    entry.iterations = scaled
    note(f"trial window: {iterations} inferences in {window_s:.3f} s; windows run {scaled}")
    return scaled
