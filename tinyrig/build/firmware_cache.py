"""Generated and built firmware, cached by content: the same board, model, generator, options and
toolchain give the same project folder, reused until any of them changes.

The key covers everything that changes the image: the model's bytes, the board as loaded (its
file's bytes and every resolved field, so an edit to a board file always rebuilds), tinyrig's
code generator, templates, kernel runtime, board schema and family data, the offline PlatformIO
platform, the kernel override, and the compiler's version.
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tinyrig
from tinyrig.benchmarks import Benchmark
from tinyrig.boards import Board
from tinyrig.build.pio import BuildError, BuildResult, build_project
from tinyrig.codegen.errors import ModelError, naming_model
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
    from tinyrig import boards, codegen, templates

    roots = [Path(codegen.__file__).parent, Path(templates.__file__).parent, Path(tinyrig.__file__).parent / "platformio",
             Path(boards.__file__).parent]
    digest = hashlib.sha256(tinyrig.__version__.encode())
    for root in roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if root.name == "boards" and path.parent == root and path.suffix == ".toml":
                continue  # each board file is hashed by the builds that use it (board_fingerprint)
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def toolchain_version() -> str:
    """The cross compiler's own version line: a new gcc gives a new image."""
    try:
        out = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0].strip() if out.stdout else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def board_fingerprint(board: Board) -> bytes:
    """The board as the generator sees it: the file's bytes and every resolved field."""
    content = b""
    if board.path is not None:
        try:
            content = Path(board.path).read_bytes()
        except OSError:
            pass  # the resolved fields below still cover what the generator reads
    return content + repr(board).encode()


def firmware_key(board: Board, model_bytes: bytes, kernels: str | None = None, code_for: Board | None = None) -> str:
    parts = [model_bytes, generator_fingerprint().encode(), board_fingerprint(board), (kernels or "").encode(),
             toolchain_version().encode(), board_fingerprint(code_for) if code_for else b""]
    digest = hashlib.sha256()
    for part in parts:  # length-prefixed, so no two different inputs concatenate to the same bytes
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()[:16]


def project_dir(board: Board, benchmark: Benchmark, model_bytes: bytes, kernels: str | None = None,
                code_for: Board | None = None) -> Path:
    return cache_dir() / "firmware" / board.name / f"{benchmark.id}-{firmware_key(board, model_bytes, kernels, code_for)}"


@contextmanager
def project_lock(directory: Path):
    """Holds `directory`'s project for this process: another tinyrig preparing the same firmware
    (two CI jobs sharing the cache, a performance and an energy run started together) waits here
    instead of rewriting the generated sources while PlatformIO compiles them. The lock file sits
    beside the project, so generating a fresh project never deletes it."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_firmware(board: Board, benchmark: Benchmark, model: Path, env_name: str = "perf",
                     out_dir: Path | None = None, kernels: str | None = None,
                     code_for: Board | None = None) -> Firmware:
    """Generates (unless cached) and builds (incrementally) the firmware for one benchmark.

    `kernels` (a core name, or "reference" for the portable kernels) overrides the
    board's core for kernel selection; `code_for` builds what another board would run: the kernels'
    loops sized for its flash cache, its constants placed as it would (render_project). Such builds
    are cached apart."""
    model_bytes = read_model_bytes(model)
    directory = Path(out_dir) if out_dir else project_dir(board, benchmark, model_bytes, kernels, code_for)
    # A project folder the caller named is theirs to share or not; the cache's are shared.
    with project_lock(directory) if out_dir is None else nullcontext():
        return _prepare(board, benchmark, model, model_bytes, directory, env_name, out_dir, kernels, code_for)


def _prepare(board: Board, benchmark: Benchmark, model: Path, model_bytes: bytes, directory: Path, env_name: str,
             out_dir: Path | None, kernels: str | None, code_for: Board | None) -> Firmware:
    try:
        project = FirmwareProject.load(directory)
        fresh = project.model_sha256 != hashlib.sha256(model_bytes).hexdigest() or out_dir is not None
    except (FileNotFoundError, TypeError, ValueError):
        fresh = True
    if fresh:
        try:
            project = render_project(board, benchmark, Path(model), directory, kernels=kernels, code_for=code_for)
        except ModelError as exc:  # the reader names the tensor; a run's session needs the file too
            raise ModelError(naming_model(model, exc)) from None
    try:
        build = _build(board, directory, env_name)
    except BuildError as exc:
        if not (exc.ram_overflow and (project.constants_in_ram or project.ram_constant_layers)):
            raise
        # place_constants' fit check is an estimate of the harness's RAM; the link is the truth. The
        # model's constants go back to flash (stalls on a board with wait states, but an image).
        project = render_project(board, benchmark, Path(model), directory, kernels=kernels, code_for=code_for,
                                 constants_may_move=False)
        build = _build(board, directory, env_name)
    return Firmware(project, build)


def _build(board: Board, directory: Path, env_name: str) -> BuildResult:
    return build_project(directory, env_name, flash_capacity=board.flash.size, ram_capacity=board.ram.size,
                         stack_bytes=STACK_BYTES)
