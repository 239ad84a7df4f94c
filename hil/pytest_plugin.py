"""tinyrig's pytest plugin: HIL tests that run the same on QEMU and on a board.

    @pytest.mark.tinyrig(benchmark="kws01")
    def test_wakes_up(dut):
        dut.load(bytes(490))
        assert dut.infer(1, 0).scores

Options: --tinyrig-board (a board name or file), --tinyrig-target qemu|hardware,
--tinyrig-port (the serial URL of a board already flashed), --tinyrig-models.
Fixtures: `board`, `firmware` (generated and built, cached by content hash), `dut` (a connected
protocol client, torn down after the test), `bench` (board + firmware + dut + the session folder
helpers). The marker `tinyrig(benchmark=..., env=...)` chooses the firmware.
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tinyrig(benchmark=ID, env='perf'|'energy'): firmware for the dut fixture")


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
    env_name = options.get("env", "perf")
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
    board: object
    firmware: object
    dut: object


@pytest.fixture
def bench(board, firmware, dut) -> Bench:
    return Bench(board, firmware, dut)
