"""Window lengths on hardware: the MLPerf Tiny runner's N and W per benchmark and mode as the
defaults, and N raised from one trial window so every window lasts at least 10 s. (The simulated
board in tests/hil/results/test_submission_qemu.py runs the whole path on the real firmware.)"""

from __future__ import annotations

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.hil.modes.window_length import MIN_WINDOW_S, WindowLengthError, calibrate, scaled_iterations
from tinyrig.hil.results.schema import BenchmarkEntry
from tinyrig.hil.run.options import RunOptions
from tinyrig.hil.run.runner import EMULATION_ITERATIONS, EMULATION_WARMUP, window_plan

# benchmark/runner/tests_performance.yaml and tests_energy.yaml in mlcommons/tiny.
RUNNER = {"performance": {"kws01": (70, 10), "vww01": (20, 5), "ic01": (20, 0), "ad01": (1500, 0)},
          "energy": {"kws01": (70, 10), "vww01": (20, 5), "ic01": (20, 5), "ad01": (1500, 10)}}


@pytest.mark.parametrize("mode", ["performance", "energy"])
def test_hardware_defaults_are_the_runner_scripts(mode):
    board = load_board("nucleo-l4r5zi")
    for bid, (n, w) in RUNNER[mode].items():
        benchmark = get_benchmark(bid)
        assert benchmark.runner_window(mode) == (n, w)
        options = RunOptions(board=board, benchmarks=[benchmark], mode=mode)
        assert window_plan(options, benchmark, emulated=False) == (n, w, True)
        # Emulation keeps its short windows; --iterations is taken as given (no scaling).
        assert window_plan(options, benchmark, emulated=True) == (EMULATION_ITERATIONS, EMULATION_WARMUP, False)
        given = RunOptions(board=board, benchmarks=[benchmark], mode=mode, iterations=5, warmup=0)
        assert window_plan(given, benchmark, emulated=False) == (5, 0, False)
    assert get_benchmark("kws01").runner_window("accuracy") == (1, 0)


def test_n_is_raised_in_proportion_with_a_margin_and_never_lowered():
    assert scaled_iterations(1500, 5.762798) == 2734  # ceil(1500 x 10.5 / 5.762798)
    assert scaled_iterations(70, 2.0) == 368
    assert scaled_iterations(20, 10.5) == 20 and scaled_iterations(20, 60.0) == 20
    assert scaled_iterations(20, 10.2) == 21  # 10.2 s passes the rule, but inputs vary: aim at 10.5 s
    for n, seconds in ((1, 0.001), (70, 9.99), (1500, 0.3)):
        assert scaled_iterations(n, seconds) * seconds / n >= MIN_WINDOW_S
    with pytest.raises(WindowLengthError, match="reported a duration of 0"):
        scaled_iterations(20, 0.0)


def test_calibration_is_recorded():
    entry = BenchmarkEntry(iterations=20, warmup=5)
    trials = []

    def measure(n, w):
        trials.append((n, w))
        return 4.0

    notes = []
    assert calibrate(entry, 20, 5, measure, notes.append) == 53
    assert trials == [(20, 5)] and entry.iterations == 53
    assert entry.calibration.model_dump() == {"iterations": 20, "warmup": 5, "window_s": 4.0, "scaled_iterations": 53,
                                              "min_window_s": 10.0}
    assert notes == ["trial window: 20 inferences in 4.000 s; windows run 53"]
