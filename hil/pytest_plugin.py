"""tinyrig's pytest plugin: HIL tests that run the same on QEMU and on a board.

    @pytest.mark.tinyrig(benchmark="kws01")
    def test_wakes_up(dut):
        dut.load(bytes(490))
        assert dut.infer(1, 0).scores

Options: --tinyrig-board (a board name or file), --tinyrig-target qemu|hardware,
--tinyrig-port (the serial URL of a board already flashed), --tinyrig-models,
--tinyrig-benchmarks / --tinyrig-modes (run only tests marked for these).
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
    group.addoption("--tinyrig-target", default="qemu", choices=("qemu", "renode", "hardware"),
                    help="where the firmware runs")
    group.addoption("--tinyrig-port", default=None, help="serial URL of the board (hardware target)")
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
    from tinyrig.firmware_cache import prepare_firmware
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
def dut(request: pytest.FixtureRequest, board, firmware):
    """A connected Dut running `firmware` on the selected target; stopped after the test."""
    from tinyrig.hil.dut import Dut

    target_kind = request.config.getoption("--tinyrig-target")
    if target_kind == "qemu":
        from tinyrig.hil.qemu import QemuTarget

        if not board.emulator.qemu_machine:
            pytest.skip(f"tinyrig: board {board.name} has no QEMU machine")
        target = QemuTarget(board)
        run = target.start(firmware.build.elf)
        url = run.url
    elif target_kind == "hardware":
        url = request.config.getoption("--tinyrig-port") or os.environ.get("TINYRIG_PORT")
        if not url:
            pytest.skip("tinyrig: --tinyrig-target hardware needs --tinyrig-port (the board's serial URL)")
        target = None
    else:
        pytest.skip(f"tinyrig: target {target_kind} is not available in this build")
    connection = Dut(url, baudrate=board.console.baud)
    try:
        connection.open()
        yield connection
    finally:
        connection.close()
        if target is not None:
            target.stop()


@dataclass
class Bench:
    """The pieces of one HIL test together, with the bench's own steps as helpers."""

    board: object
    firmware: object
    dut: object
    benchmark: object
    model: Path

    def reference(self):
        from tinyrig.hil.reference import ReferenceModel

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
        from tinyrig.hil.inputs import random_inputs
        from tinyrig.hil.modes.performance import run_performance, summarize

        reference = self.reference()
        scale, zero_point = reference.input_quantization()
        inputs = random_inputs(self.benchmark, windows, seed, scale, zero_point)
        done = run_performance(self.dut, self.benchmark, inputs, iterations=iterations, warmup=warmup,
                               instructions_per_second=1e9 if self.board.is_emulated else None,
                               reference=reference)
        return done, summarize(done, self.firmware.project.total_macs, self.board.is_emulated)


@pytest.fixture
def bench(request: pytest.FixtureRequest, board, firmware, dut, tinyrig_models) -> Bench:
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.models import find_model

    benchmark = get_benchmark(_marker_options(request).get("benchmark", DEFAULT_TEST_BENCHMARK))
    return Bench(board, firmware, dut, benchmark, find_model(benchmark.id, tinyrig_models))
