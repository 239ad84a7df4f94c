"""One interface for every measurement mode, and what a mode is handed for one benchmark.

A mode says which firmware it needs (`firmware_env`), which timestamp mode that firmware must
report, checks its options before anything is built (`check`), and measures one benchmark on a
started target through a connected DUT (`run`), saving each finished window or file into the
session as it goes. The runner knows modes only through this interface and the registry
(`hil/modes/registry.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

from tinyrig.benchmarks import Benchmark
from tinyrig.boards import Board
from tinyrig.build.firmware_cache import Firmware
from tinyrig.hil.dut.client import Dut
from tinyrig.hil.dut.inputs import Input, dataset_inputs, random_inputs
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.hil.results.schema import BenchmarkEntry
from tinyrig.hil.results.session import Session
from tinyrig.hil.targets.base import Run, Target


class ModeOptionError(ValueError):
    """The options cannot work for this mode (said before anything is built)."""


@dataclass(frozen=True)
class ModeSettings:
    """The run options a mode reads (the runner fills them from the command line)."""

    board: Board
    benchmarks: tuple[Benchmark, ...] = ()  # what the run measures: `check` looks at each before anything builds
    windows: int = 5
    seed: int = 0
    dataset: Path | None = None
    limit: int | None = None  # accuracy: only the first N files of each index
    check_reference: bool = True
    infer_timeout_s: float = 900.0
    power_monitor: str | None = None  # energy on a board: a name from tinyrig.hil.instruments
    monitor_port: str | None = None
    stream: Path | None = None  # streaming: a truth JSON beside its wav files (None: the shipped test stream)
    io_manager: str | None = None  # hardware: the interface board's port (streaming needs it for the audio)


@dataclass
class Progress:
    """Callbacks for a front end (the CLI's progress display); all optional."""

    stage: Callable[[str, str], None] = lambda benchmark, what: None
    advance: Callable[[str, int, int, str], None] = lambda benchmark, done, total, detail: None
    failed: Callable[[str, str], None] = lambda benchmark, error: None
    extra: dict = field(default_factory=dict)


@dataclass
class ModeContext:
    """What a mode needs for one benchmark; prepared by the runner's stages."""

    session: Session
    settings: ModeSettings
    benchmark: Benchmark
    entry: BenchmarkEntry  # this benchmark's record in the session (saved with session.save())
    firmware: Firmware
    reference: ReferenceModel
    dut: Dut
    run: Run
    target: Target
    load: Callable[[Dut, bytes], None]
    progress: Progress
    iterations: int
    warmup: int
    # Registers a closer for an instrument the mode opened: the bench runs it on every way out,
    # before the DUT and the target (hil/run/bench.py).
    on_close: Callable[[Callable[[], object]], None]
    # Hardware without --iterations: scale N so every window lasts >= 10 s (window_length.py).
    scale_windows: bool = False

    def perf_inputs(self) -> list[Input]:
        """The inputs of performance and energy windows: the dataset's, else seeded random ones."""
        if self.settings.dataset:
            return dataset_inputs(self.benchmark, self.settings.dataset, self.settings.windows)
        scale, zero_point = self.reference.input_quantization()
        return random_inputs(self.benchmark, self.settings.windows, self.settings.seed, scale, zero_point)


class Mode(ABC):
    """A measurement mode. Subclasses set the class attributes and implement `run`."""

    name: ClassVar[str]
    firmware_env: ClassVar[str] = "perf"  # the PlatformIO environment its firmware is built in
    timestamp_mode: ClassVar[str] = "performance"  # what that firmware reports (`tinyrig caps`)

    def check(self, settings: ModeSettings, target: type[Target]) -> None:
        """Raises ModeOptionError when the options cannot work (before anything builds)."""

    def console_baud(self, board: Board) -> int:
        return board.console.baud

    @abstractmethod
    def run(self, ctx: ModeContext) -> None:
        """Measures one benchmark, recording into `ctx.entry` (its own typed section and `summary`;
        a plug-in mode records under `ctx.entry.extensions[<its name>]`)."""
