"""Render a complete PlatformIO firmware project for one board, one benchmark and one model.

The board file gives the memory map and drivers, the benchmark table gives the input
conversion and result printing, and the inference engine gives the model as C++. Everything
else is a Jinja2 template in templates/firmware/.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jinja2

import tinyrig
from tinyrig.benchmarks import Benchmark
from tinyrig.boards import Board
from tinyrig.boards.drivers import uses_fault_record
from tinyrig.codegen.engine import CompiledModel, compile_model
from tinyrig.codegen.tflite_reader import read_model_bytes

PLATFORMIO_DIR = Path(tinyrig.__file__).resolve().parent / "platformio"
MANIFEST_NAME = "tinyrig.json"
STACK_BYTES = 8 * 1024


def _templates_dir() -> Path:
    # Installed, the templates are the package tinyrig.templates; in a source tree, templates/.
    from tinyrig import templates

    return Path(templates.__file__).resolve().parent / "firmware"


@dataclass
class FirmwareProject:
    """A rendered project: where it is and what went into it."""

    directory: Path
    board: str
    benchmark: str
    model_sha256: str
    source_sha256: str
    arena_bytes: int
    arena_lower_bound: int
    total_macs: int
    weight_bytes: int
    # The board file the project was rendered from, so `tinyrig build --project` finds a user's own again.
    board_file: str = ""
    tinyrig_version: str = tinyrig.__version__
    files: list[str] = field(default_factory=list)

    def manifest(self) -> dict:
        data = asdict(self)
        data["directory"] = str(self.directory)
        return data

    @classmethod
    def load(cls, directory: Path) -> "FirmwareProject":
        data = json.loads((Path(directory) / MANIFEST_NAME).read_text())
        data["directory"] = Path(directory)
        return cls(**data)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _board_sources(board: Board) -> dict[str, str]:
    """Template -> output path for the board layer, one driver per peripheral family."""
    sources = {
        "src/board.h.j2": "src/board.h",
        "src/startup.c.j2": "src/startup.c",
        f"drivers/clock_{board.clock_driver}.c.j2": "src/clock.c",
        f"drivers/uart_{board.console.driver}.c.j2": "src/uart.c",
        f"drivers/timer_{board.timer.driver}.c.j2": "src/timer.c",
        f"drivers/pin_{board.timestamp_pin.driver}.c.j2": "src/timestamp_pin.c",
        "drivers/exit.c.j2": "src/exit.c",
        "src/semihosting.c.j2": "src/semihosting.c",
        "src/console.c": "src/console.c",
        "src/main.cpp": "src/main.cpp",
        "src/api/internally_implemented.h": "src/api/internally_implemented.h",
        "src/api/internally_implemented.cpp": "src/api/internally_implemented.cpp",
        "src/api/submitter_implemented.h.j2": "src/api/submitter_implemented.h",
        "src/api/submitter_implemented.cpp.j2": "src/api/submitter_implemented.cpp",
        "linker.ld.j2": "linker.ld",
    }
    if uses_fault_record(board):
        # Only boards whose drivers wait on hardware flags get these (the emulated images stay as they were).
        sources["drivers/faults.h.j2"] = "src/board_faults.h"
        sources["drivers/faults.c.j2"] = "src/board_faults.c"
    return sources


def _board_context(board: Board) -> dict:
    return {
        "board": board,
        "version": tinyrig.__version__,
        "stack_bytes": STACK_BYTES,
        "pio_board_id": pio_board_id(board),
        "uses_fault_record": uses_fault_record(board),
    }


def render_drivers(board: Board) -> dict[str, str]:
    """The board's driver sources alone (clock, UART, timer, pin, fault record, linker script), without a
    model: what tests compile and check register by register."""
    env = _environment()
    context = _board_context(board)
    return {rel: env.get_template(template).render(context)
            for template, rel in _board_sources(board).items()
            if template.startswith("drivers/") or template == "linker.ld.j2"}


def pio_board_id(board: Board) -> str:
    return "tinyrig-" + board.name


def _check_benchmark_fits_model(benchmark: Benchmark, compiled: CompiledModel) -> None:
    """The host sends `benchmark.input_bytes`; the model must take exactly that input."""
    elements = 1
    for dim in compiled.input.shape:
        elements *= dim
    expected = elements * (4 if benchmark.conversion == "float32_quantize" else 1)
    if expected != benchmark.input_bytes:
        raise ValueError(
            f"model input {list(compiled.input.shape)} ({compiled.input.dtype}) does not take the "
            f"{benchmark.input_bytes} bytes the host sends for {benchmark.id}"
        )


def render_project(board: Board, benchmark: Benchmark, model: Path | bytes, out_dir: Path,
                   kernels: str | None = None) -> FirmwareProject:
    """Write the PlatformIO project for `benchmark` on `board` into `out_dir`.

    `kernels` picks the kernel family by core name instead of the board's core; "reference"
    builds the portable kernels (benchmarks/kernels.py compares the two)."""
    model_bytes = model if isinstance(model, (bytes, bytearray)) else read_model_bytes(model)
    compiled = compile_model(Path(model) if isinstance(model, (str, Path)) else bytes(model_bytes),
                             core=kernels or board.core)
    _check_benchmark_fits_model(benchmark, compiled)

    files: dict[str, str] = {}
    for rel, text in compiled.files.items():
        files[f"src/model/{rel}"] = text

    env = _environment()
    context = {
        **_board_context(board),
        "benchmark": benchmark,
        "platform_dir": (PLATFORMIO_DIR / "platform").as_posix(),
        "scons_dir": (PLATFORMIO_DIR / "tool-scons").as_posix(),
        "firmware_tag": "@FIRMWARE_TAG@",
    }
    for template, rel in _board_sources(board).items():
        files[rel] = env.get_template(template).render(context)
    files[f"boards/{pio_board_id(board)}.json"] = env.get_template("boards/board.json.j2").render(context)

    # The firmware tag names exactly these sources (platformio.ini holds local paths, so it
    # is left out): the same board, model and tinyrig give the same tag on any machine.
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + files[rel].encode() + b"\0")
    source_sha256 = digest.hexdigest()
    for rel in files:
        files[rel] = files[rel].replace("@FIRMWARE_TAG@", source_sha256[:12])
    files["platformio.ini"] = env.get_template("platformio.ini.j2").render(context)

    out_dir = Path(out_dir)
    if (out_dir / "src").exists():
        shutil.rmtree(out_dir / "src")  # stale model or driver files must not linger
    for rel, text in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    project = FirmwareProject(
        directory=out_dir,
        board=board.name,
        benchmark=benchmark.id,
        model_sha256=hashlib.sha256(model_bytes).hexdigest(),
        source_sha256=source_sha256,
        arena_bytes=compiled.arena_bytes,
        arena_lower_bound=compiled.arena_lower_bound,
        total_macs=compiled.total_macs,
        weight_bytes=compiled.weight_bytes,
        board_file=str(board.path.resolve()) if board.path else "",
        files=sorted(files),
    )
    (out_dir / MANIFEST_NAME).write_text(json.dumps(project.manifest(), indent=2) + "\n")
    return project
