"""tinyrig's pytest plugin: HIL tests that run the same on QEMU and on a board.

    @pytest.mark.tinyrig(benchmark="kws01")
    def test_wakes_up(dut):
        dut.load(bytes(490))
        assert dut.infer(1, 0).scores

Options (spell them `--option=VALUE`: before it knows plugin options, pytest takes a path after
a space for a test path and picks its rootdir, and writes its .pytest_cache, from it):
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
JUnit XML (`--junitxml`): each test using the fixtures carries the bench's figures as
<property> elements: tinyrig.board, .target, .benchmark, .firmware_sha256, .model_sha256,
.flash_bytes, .ram_bytes, and after `bench.performance()` .instructions, .latency_us,
.instructions_per_mac (medians per inference), after `bench.matches_reference()` .bit_exact.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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


# Options whose value is a path: given after a space, pytest may take it for its rootdir.
PATH_OPTIONS = ("--tinyrig-models", "--tinyrig-board")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tinyrig(benchmark=ID, mode='performance'|'energy'): firmware for the dut fixture")
    # Before plugins are loaded pytest reads every argument that names an existing path as a test
    # path when it picks its rootdir (where .pytest_cache goes, which ini file applies).
    args = [str(a) for a in config.invocation_params.args]
    for option in PATH_OPTIONS:
        value = config.getoption(option)
        if value and option in args and Path(value).expanduser().exists():
            config.issue_config_time_warning(pytest.PytestConfigWarning(
                f"{option} {value}: pytest also read {value} as a test path when it chose its rootdir "
                f"({config.rootpath}); spell it {option}={value}"), stacklevel=2)


def _property(request: pytest.FixtureRequest, name: str, value) -> None:
    """A figure of this test in the JUnit XML (`<property name="tinyrig.NAME">`), and in the
    test report's user_properties for other reporters. Appended directly rather than through
    pytest's record_property, which warns under the default xunit2 family although the
    properties are written all the same."""
    if value is not None:
        request.node.user_properties.append((f"tinyrig.{name}", value))


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
    project, size = firmware.project, firmware.build.size
    for name, value in (("board", board.name), ("target", target.kind), ("benchmark", project.benchmark),
                        ("firmware_env", firmware.build.env), ("firmware_sha256", project.source_sha256),
                        ("model_sha256", project.model_sha256), ("flash_bytes", size.flash_bytes),
                        ("ram_bytes", size.ram_bytes)):
        _property(request, name, value)
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
    record: Callable[[str, object], None] = lambda name, value: None  # a JUnit property of the test

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
        self.record("bit_exact", same)
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
        summary = summarize(done, self.firmware.project.total_macs, target.emulated)
        for name, value in (("instructions", summary.median_instructions), ("latency_us", summary.median_latency_us),
                            ("instructions_per_mac", summary.instructions_per_mac), ("windows", len(done)),
                            ("iterations", iterations)):
            self.record(name, value)
        return done, summary


@pytest.fixture
def bench(request: pytest.FixtureRequest, board, firmware, tinyrig_bench, tinyrig_models) -> Bench:
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.models import find_model

    benchmark = get_benchmark(_marker_options(request).get("benchmark", DEFAULT_TEST_BENCHMARK))
    return Bench(board, firmware, tinyrig_bench.dut, benchmark, find_model(benchmark.id, tinyrig_models),
                 tinyrig_bench, lambda name, value: _property(request, name, value))
