"""Generated and built firmware, cached by content: the same board, model and generator give
the same project folder, reused until any of them changes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tinyrig
from tinyrig.benchmarks import Benchmark
from tinyrig.boards import Board
from tinyrig.build.pio import BuildResult, build_project
from tinyrig.codegen.firmware import STACK_BYTES, FirmwareProject, render_project
from tinyrig.codegen.tflite_reader import read_model_bytes
from tinyrig.paths import cache_dir


@dataclass
class Firmware:
    project: FirmwareProject
    build: BuildResult


@lru_cache(maxsize=1)
def generator_fingerprint() -> str:
    """A hash of everything that shapes generated firmware: codegen, templates, the platform."""
    from tinyrig import codegen, templates

    roots = [Path(codegen.__file__).parent, Path(templates.__file__).parent, Path(tinyrig.__file__).parent / "platformio"]
    digest = hashlib.sha256(tinyrig.__version__.encode())
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def project_dir(board: Board, benchmark: Benchmark, model_bytes: bytes, kernels: str | None = None) -> Path:
    key = hashlib.sha256(model_bytes + generator_fingerprint().encode() + str(board.path).encode()
                         + (kernels or "").encode()).hexdigest()[:16]
    return cache_dir() / "firmware" / board.name / f"{benchmark.id}-{key}"


def prepare_firmware(board: Board, benchmark: Benchmark, model: Path, env_name: str = "perf",
                     out_dir: Path | None = None, kernels: str | None = None) -> Firmware:
    """Generates (unless cached) and builds (incrementally) the firmware for one benchmark.

    `kernels` (a core name, or "reference" for the portable kernels) overrides the
    board's core for kernel selection; such builds are cached apart."""
    model_bytes = read_model_bytes(model)
    directory = Path(out_dir) if out_dir else project_dir(board, benchmark, model_bytes, kernels)
    try:
        project = FirmwareProject.load(directory)
        fresh = project.model_sha256 != hashlib.sha256(model_bytes).hexdigest() or out_dir is not None
    except (FileNotFoundError, TypeError, ValueError):
        fresh = True
    if fresh:
        project = render_project(board, benchmark, Path(model), directory, kernels=kernels)
    build = build_project(directory, env_name, flash_capacity=board.flash.size, ram_capacity=board.ram.size,
                          stack_bytes=STACK_BYTES)
    return Firmware(project, build)
