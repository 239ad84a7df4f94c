"""What `tinyrig run` was asked to do, serialised into results.json so `--resume` can repeat it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyrig.benchmarks import Benchmark, get_benchmark
from tinyrig.boards import Board, load_board
from tinyrig.hil.modes.base import ModeSettings
from tinyrig.hil.modes.performance import WINDOWS
from tinyrig.hil.targets.base import Target, TargetSettings
from tinyrig.hil.targets.cycle_model import CycleModel, CycleModelError, cycle_model_for
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
        timestamp pin to carry the window markers; None elsewhere (Renode and hardware have no plugin)."""
        if not self.cycles or self.target_class.kind != "qemu" or self.board.timestamp_pin.driver == "none":
            return None
        return cycle_model_for(self.board)

    def prediction_model(self) -> CycleModel | None:
        """`--predict BOARD`: the same core's timing with BOARD's clock, wait states and flash
        accelerator (CycleModelError, one line, for another core or a board without [timing])."""
        if self.predict is None:
            return None
        if self.target_class.kind != "qemu":
            raise CycleModelError(f"--predict times a QEMU run; {self.board.name} runs on {self.target_class.kind}")
        return cycle_model_for(self.board, timing=load_board(self.predict))

    def target_settings(self, session_dir: Path, benchmark_id: str) -> TargetSettings:
        """Emulators log the timestamp-pin activity into the session folder."""
        return TargetSettings(icount_shift=self.icount_shift, marker_log=session_dir / f"markers-{benchmark_id}.txt",
                              workdir=session_dir / f"renode-{benchmark_id}", probe=self.probe, port=self.port,
                              flash=self.flash, io_manager=self.io_manager, cycle_model=self.cycle_model(),
                              # Streaming: watch the detection/processing pins, let time skip while the DUT sleeps.
                              stream_pins=self.mode == "streaming", icount_sleep=self.mode != "streaming")

    def mode_settings(self) -> ModeSettings:
        return ModeSettings(board=self.board, benchmarks=tuple(self.benchmarks), windows=self.windows,
                            seed=self.seed, dataset=self.dataset,
                            limit=self.limit, check_reference=self.check_reference,
                            infer_timeout_s=self.infer_timeout_s, power_monitor=self.power_monitor,
                            monitor_port=self.monitor_port, stream=self.stream)

    def to_json(self) -> dict:
        return {
            "board": str(self.board.path or self.board.name),
            "benchmarks": [b.id for b in self.benchmarks],
            "mode": self.mode,
            "target": self.target,
            "models_dir": str(self.models_dir) if self.models_dir else None,
            "iterations": self.iterations,
            "warmup": self.warmup,
            "windows": self.windows,
            "seed": self.seed,
            "dataset": str(self.dataset) if self.dataset else None,
            "limit": self.limit,
            "check_reference": self.check_reference,
            "fast_load": self.fast_load,
            "icount_shift": self.icount_shift,
            "infer_timeout_s": self.infer_timeout_s,
            "jobs": self.jobs,
            "probe": self.probe,
            "port": self.port,
            "flash": self.flash,
            "power_monitor": self.power_monitor,
            "monitor_port": self.monitor_port,
            "io_manager": self.io_manager,
            "cycles": self.cycles,
            "predict": self.predict,
            "stream": str(self.stream) if self.stream else None,
            "db": self.db,
            "record": self.record,
        }

    @classmethod
    def from_json(cls, data: dict) -> "RunOptions":
        return cls(
            board=load_board(data["board"]),
            benchmarks=[get_benchmark(b) for b in data["benchmarks"]],
            mode=data["mode"],
            target=data.get("target"),
            models_dir=Path(data["models_dir"]) if data.get("models_dir") else None,
            iterations=data.get("iterations"),
            warmup=data.get("warmup"),
            windows=data.get("windows", WINDOWS),
            seed=data.get("seed", 0),
            dataset=Path(data["dataset"]) if data.get("dataset") else None,
            limit=data.get("limit"),
            check_reference=data.get("check_reference", True),
            fast_load=data.get("fast_load", True),
            icount_shift=data.get("icount_shift", 0),
            infer_timeout_s=data.get("infer_timeout_s", 900.0),
            jobs=data.get("jobs", 1),
            probe=data.get("probe"),
            port=data.get("port"),
            flash=data.get("flash", True),
            power_monitor=data.get("power_monitor"),
            monitor_port=data.get("monitor_port"),
            io_manager=data.get("io_manager"),
            cycles=data.get("cycles", True),
            predict=data.get("predict"),
            stream=Path(data["stream"]) if data.get("stream") else None,
            db=data.get("db"),
            record=data.get("record", True),
        )
