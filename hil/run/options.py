"""What `tinyrig run` was asked to do, serialised into results.json (as the results schema's
`RunOptionsRecord`) so `--resume` can repeat it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from tinyrig.benchmarks import Benchmark, get_benchmark
from tinyrig.boards import Board, load_board
from tinyrig.hil.modes.base import ModeSettings
from tinyrig.hil.modes.performance import WINDOWS
from tinyrig.hil.results.schema import RunOptionsRecord
from tinyrig.hil.targets.base import Target, TargetSettings
from tinyrig.hil.targets.cycle_model import CycleModel, CycleModelError, cycle_model_for, has_core_timing, timed_cores
from tinyrig.hil.targets.registry import choose_target


@dataclass
class RunOptions:
    board: Board
    benchmarks: list[Benchmark]
    mode: str = "performance"
    target: str | None = None  # a registered target name; None: the board's own
    models_dir: Path | None = None
    iterations: int | None = None
    warmup: int | None = None
    windows: int = WINDOWS
    seed: int = 0
    dataset: Path | None = None
    limit: int | None = None  # accuracy: only the first N files of each index
    check_reference: bool = True
    fast_load: bool = True
    icount_shift: int = 0
    infer_timeout_s: float = 900.0
    jobs: int = 1  # benchmarks measured at once, each in its own emulator
    # Hardware target: the probe (unique ID) and console port (else found by USB VID:PID), whether
    # to flash, and the power monitor for energy mode (a name from tinyrig.hil.instruments and its port).
    probe: str | None = None
    port: str | None = None
    flash: bool = True
    power_monitor: str | None = None
    monitor_port: str | None = None
    io_manager: str | None = None  # hardware energy set-up: the interface board's serial port
    # QEMU: estimated cycles beside instructions (docs/cycle-model.md), on unless --no-cycles.
    cycles: bool = True
    predict: str | None = None  # a board of the same core: also time each benchmark as that MCU
    stream: Path | None = None  # streaming mode: a truth JSON beside its wav files (else the shipped test stream)
    # The results database the session is recorded into (a URL without its password), so that
    # `--resume` records into the same one; record=False: --no-record.
    db: str | None = None
    record: bool = True

    @property
    def target_class(self) -> type[Target]:
        """The target this run uses (the registry checks it can run the board)."""
        return choose_target(self.board, self.target)

    @property
    def emulated(self) -> bool:
        return self.target_class.emulated

    def cycle_model(self) -> CycleModel | None:
        """The board's own cycle model (its core, its [timing]) when the run is under QEMU with a
        timestamp pin to carry the window markers; None elsewhere (Renode and hardware have no plugin)
        and in accuracy mode, which times nothing: charging every instruction slowed its emulator by
        about a third."""
        if not self._times_cycles() or not has_core_timing(self.board.core):
            return None  # instructions only (with a core the cycle model has no data for, as under --no-cycles)
        return cycle_model_for(self.board)

    def _times_cycles(self) -> bool:
        """Whether this run would carry est. cycles, given timing data for its core."""
        return (self.cycles and self.mode != "accuracy" and self.target_class.kind == "qemu"
                and self.board.timestamp_pin.driver != "none")

    def untimed_core_note(self) -> str | None:
        """The line that says why a run that would have est. cycles has none: the board's core has no
        timing data (a vendor's Cortex-M3 board), so only instructions are counted."""
        if not self._times_cycles() or has_core_timing(self.board.core):
            return None
        return (f"note: no est. cycles: the cycle model has no timing data for the {self.board.core} "
                f"(it has {', '.join(timed_cores())}; docs/cycle-model.md); instructions are counted as usual")

    def prediction_model(self) -> CycleModel | None:
        """`--predict BOARD`: the same core's timing with BOARD's clock, wait states and flash
        accelerator (CycleModelError, one line, for another core or a board without [timing])."""
        if self.predict is None:
            return None
        if self.target_class.kind != "qemu":
            raise CycleModelError(f"--predict times a QEMU run; {self.board.name} runs on {self.target_class.kind}")
        return cycle_model_for(self.board, timing=load_board(self.predict))

    def target_settings(self, emulator_dir: Path, benchmark_id: str) -> TargetSettings:
        """Emulators log the timestamp-pin activity (and Renode keeps its working folder) in
        `emulator_dir`, the session's `emulator/` folder, away from the result folders."""
        return TargetSettings(icount_shift=self.icount_shift, marker_log=emulator_dir / f"markers-{benchmark_id}.txt",
                              workdir=emulator_dir / f"renode-{benchmark_id}", probe=self.probe, port=self.port,
                              flash=self.flash, io_manager=self.io_manager, cycle_model=self.cycle_model(),
                              # Streaming (sww01 in streaming or energy mode): watch the detection and
                              # processing pins, let time skip while the DUT sleeps.
                              stream_pins=self.streams(benchmark_id), icount_sleep=not self.streams(benchmark_id))

    def streams(self, benchmark_id: str) -> bool:
        """Does this benchmark play audio in this run? Streaming mode, and energy mode of a streaming
        benchmark (the runner measures sww01's energy over its stream)."""
        return self.mode == "streaming" or (self.mode == "energy" and get_benchmark(benchmark_id).streaming)

    def mode_settings(self) -> ModeSettings:
        return ModeSettings(board=self.board, benchmarks=tuple(self.benchmarks), windows=self.windows,
                            seed=self.seed, dataset=self.dataset,
                            limit=self.limit, check_reference=self.check_reference,
                            infer_timeout_s=self.infer_timeout_s, power_monitor=self.power_monitor,
                            monitor_port=self.monitor_port, stream=self.stream, io_manager=self.io_manager)

    def to_record(self) -> RunOptionsRecord:
        # Field by field, so a new option without its place in the record fails validation at once.
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(board=str(self.board.path or self.board.name), benchmarks=[b.id for b in self.benchmarks])
        return RunOptionsRecord.model_validate({k: str(v) if isinstance(v, Path) else v for k, v in values.items()})

    @classmethod
    def from_record(cls, record: RunOptionsRecord) -> "RunOptions":
        """Raises BoardError / UnknownBenchmarkError (ValueErrors) for a board or benchmark that is gone."""
        values = record.model_dump()
        values.update(board=load_board(record.board), benchmarks=[get_benchmark(b) for b in record.benchmarks],
                      models_dir=Path(record.models_dir) if record.models_dir else None,
                      dataset=Path(record.dataset) if record.dataset else None,
                      stream=Path(record.stream) if record.stream else None)
        return cls(**values)
