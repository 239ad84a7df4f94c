"""tinyrig's pytest plugin: HIL tests that run the same on QEMU and on a board.

    @pytest.mark.tinyrig(benchmark="kws01")
    def test_wakes_up(dut):
        dut.load(bytes(490))
        assert dut.infer(1, 0).scores

Options (spell them `--option=VALUE`: pytest takes a bare path after a space as its rootdir):
--tinyrig-board (a board name or file), --tinyrig-target (any registered target: qemu, renode,
hardware or a lab's own; default: the board's own), --tinyrig-probe / --tinyrig-port (hardware:
the probe to flash with, the console port; --tinyrig-no-flash for a board that already runs
the firmware), --tinyrig-models, --tinyrig-benchmarks / --tinyrig-modes (run only tests marked
for these).
Fixtures: `board`, `firmware` (generated and built, cached by content hash), `dut` (a connected
protocol client, torn down after the test), `bench` (board + firmware + dut, with helpers that
load an input, run the performance windows and check outputs against the tflite-micro
interpreter). The marker `tinyrig(benchmark=..., mode="performance"|"energy")` chooses the
firmware; tests without it get kws01 in performance mode.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_TEST_BENCHMARK = "kws01"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tinyrig", "tinyrig hardware-in-the-loop")
    group.addoption("--tinyrig-board", default=None, help="board name or board file (default: qemu-mps2-an386)")
    group.addoption("--tinyrig-target", default=None,
                    help="where the firmware runs: a registered target (default: the board's own)")
    group.addoption("--tinyrig-probe", default=None, help="hardware: the debug probe's unique ID")
    group.addoption("--tinyrig-port", default=None, help="hardware: the console's serial port or URL")
    group.addoption("--tinyrig-no-flash", action="store_true", help="hardware: the board already runs the firmware")
    group.addoption("--tinyrig-models", default=None, help="folder with the reference .tflite models")
    group.addoption("--tinyrig-benchmarks", default=None,
                    help="comma list: run only tinyrig tests marked for these benchmarks")
    group.addoption("--tinyrig-modes", default=None, help="comma list: run only tinyrig tests marked for these modes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = {
        "benchmark": config.getoption("--tinyrig-benchmarks"),
        "mode": config.getoption("--tinyrig-modes"),
    }
    if not any(wanted.values()):
        return
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("tinyrig")
        options = dict(marker.kwargs) if marker else {}
        selected = True
        for key, spec in wanted.items():
            if spec and marker is not None:
                value = options.get(key, DEFAULT_TEST_BENCHMARK if key == "benchmark" else "performance")
                selected &= value in spec.split(",")
        (keep if selected else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tinyrig(benchmark=ID, mode='performance'|'energy'): firmware for the dut fixture")


def _marker_options(request: pytest.FixtureRequest) -> dict:
    marker = request.node.get_closest_marker("tinyrig")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture(scope="session")
def board(request: pytest.FixtureRequest):
    from tinyrig.boards import DEFAULT_BOARD, load_board

    return load_board(request.config.getoption("--tinyrig-board") or DEFAULT_BOARD)


@pytest.fixture(scope="session")
def tinyrig_models(request: pytest.FixtureRequest) -> Path | None:
    option = request.config.getoption("--tinyrig-models")
    return Path(option) if option else None


@pytest.fixture(scope="session")
def _tinyrig_firmware_cache() -> dict:
    return {}


@pytest.fixture
def firmware(request: pytest.FixtureRequest, board, tinyrig_models, _tinyrig_firmware_cache):
    """The built firmware for the test's benchmark (marker), generated and built once per content."""
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.build.firmware_cache import prepare_firmware
    from tinyrig.models import ModelNotFoundError, find_model

    options = _marker_options(request)
    benchmark = get_benchmark(options.get("benchmark", DEFAULT_TEST_BENCHMARK))
    env_name = "energy" if options.get("mode") == "energy" else "perf"
    key = (board.name, benchmark.id, env_name)
    if key not in _tinyrig_firmware_cache:
        try:
            model = find_model(benchmark.id, tinyrig_models)
        except ModelNotFoundError as exc:
            pytest.skip(f"tinyrig: {exc}")
        _tinyrig_firmware_cache[key] = prepare_firmware(board, benchmark, model, env_name)
    return _tinyrig_firmware_cache[key]


@pytest.fixture
def tinyrig_bench(request: pytest.FixtureRequest, board, firmware, tmp_path):
    """The selected target (from tinyrig's target registry) running `firmware`, with a connected,
    handshaken DUT; everything stopped after the test."""
    from tinyrig.hil.run.bench import Bench as Lifecycle
    from tinyrig.hil.targets.base import TargetError, TargetSettings
    from tinyrig.hil.targets.registry import make_target

    config = request.config
    settings = TargetSettings(marker_log=tmp_path / "markers.txt", workdir=tmp_path / "target",
                              probe=config.getoption("--tinyrig-probe"),
                              port=config.getoption("--tinyrig-port") or os.environ.get("TINYRIG_PORT"),
                              flash=not config.getoption("--tinyrig-no-flash"))
    try:
        target = make_target(board, config.getoption("--tinyrig-target"), settings)
    except TargetError as exc:
        pytest.skip(f"tinyrig: {exc}")
    baud = board.console.energy_baud if firmware.build.env == "energy" else board.console.baud
    with Lifecycle(target, firmware.build.elf, baudrate=baud) as lifecycle:
        lifecycle.handshake()
        yield lifecycle


@pytest.fixture
def dut(tinyrig_bench):
    """A connected Dut running `firmware` on the selected target; stopped after the test."""
    return tinyrig_bench.dut


@dataclass
class Bench:
    """The pieces of one HIL test together, with the bench's own steps as helpers."""

    board: object
    firmware: object
    dut: object
    benchmark: object
    model: Path
    lifecycle: object = None  # the started target and its run (tinyrig.hil.run.bench.Bench)

    def reference(self):
        from tinyrig.hil.dut.reference import ReferenceModel

        return ReferenceModel(self.model, self.benchmark)

    def infer(self, data: bytes) -> list[float]:
        """Loads one input, runs one inference, returns the scores."""
        self.dut.load(data)
        return self.dut.infer(1, 0).scores

    def matches_reference(self, data: bytes) -> bool:
        """Whether the printed scores (and raw output, where offered) equal the interpreter's."""
        expected = self.reference().run(data)
        self.dut.load(data)
        result = self.dut.infer(1, 0)
        line = next(l for l in result.lines if l.startswith("m-results-"))
        same = line == "m-results-[" + ",".join(expected.scores) + "]"
        if "raw" in self.dut.capabilities():
            same &= self.dut.raw_output() == expected.raw
        return same

    def performance(self, iterations: int = 3, warmup: int = 1, windows: int = 5, seed: int = 0):
        """The performance windows on seeded random inputs; returns (windows, summary)."""
        from tinyrig.hil.dut.inputs import random_inputs
        from tinyrig.hil.modes.performance import run_performance, summarize

        reference = self.reference()
        scale, zero_point = reference.input_quantization()
        inputs = random_inputs(self.benchmark, windows, seed, scale, zero_point)
        target, run = self.lifecycle.target, self.lifecycle.run
        # The same figures as `tinyrig run`: exact counts from the window markers where the target
        # records them, else ticks at the target's instruction rate (None on a board).
        has_marks = getattr(run, "markers", None) is not None
        done = run_performance(self.dut, self.benchmark, inputs, iterations=iterations, warmup=warmup,
                               instructions_per_second=target.instructions_per_second if target.emulated else None,
                               reference=reference, marks=run.new_window_marks if has_marks else None)
        return done, summarize(done, self.firmware.project.total_macs, target.emulated)


@pytest.fixture
def bench(request: pytest.FixtureRequest, board, firmware, tinyrig_bench, tinyrig_models) -> Bench:
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.models import find_model

    benchmark = get_benchmark(_marker_options(request).get("benchmark", DEFAULT_TEST_BENCHMARK))
    return Bench(board, firmware, tinyrig_bench.dut, benchmark, find_model(benchmark.id, tinyrig_models),
                 tinyrig_bench)
