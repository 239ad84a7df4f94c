"""A generated project is portable: copied anywhere, it builds offline with nothing but PlatformIO,
and PlatformIO's upload and debug run pyOCD for boards that name a pyOCD target.

pyOCD itself needs a probe and gdb-multiarch is not installed here, so those two are stand-ins on
PATH that record how PlatformIO called them; everything else (PlatformIO, SCons, the compiler) is real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyrig_testing import require_tools
from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.build.pio import build_project
from tinyrig.codegen.firmware import FirmwareProject, render_project

REPO = Path(__file__).resolve().parents[2]
PIO = Path(sys.executable).parent / "pio"
HARDWARE_BOARD = "nucleo-l4r5zi"  # names pyOCD target stm32l4r5zitx

RECORDER = """#!/bin/sh
# Stand-in for {name}: records its arguments, one a line.
printf '%s\\n' "$@" > "{log}"
sleep {linger}
"""


def _plain_environment(core_dir: Path, extra_path: Path | None = None) -> dict[str, str]:
    """What a machine with only PlatformIO and the Arm toolchain has: no tinyrig on PATH, a core
    dir PlatformIO has never seen, no tinyrig variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORMIO", "TINYRIG"))}
    gcc_dir = str(Path(shutil.which("arm-none-eabi-gcc")).parent)
    env["PATH"] = os.pathsep.join(filter(None, [str(extra_path) if extra_path else "", gcc_dir, "/usr/bin", "/bin"]))
    env.update(PLATFORMIO_CORE_DIR=str(core_dir), PLATFORMIO_SETTING_ENABLE_TELEMETRY="No",
               PLATFORMIO_DISABLE_UPGRADE_CHECK="true", PLATFORMIO_NO_ANSI="true")
    return env


def _pio(project: Path, *args: str, core_dir: Path, extra_path: Path | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(PIO), *args], cwd=project, env=_plain_environment(core_dir, extra_path),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.PIPE)


def _recorder(bin_dir: Path, name: str, linger_s: float = 0) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = bin_dir / f"{name}.args"
    script = bin_dir / name
    script.write_text(RECORDER.format(name=name, log=log, linger=linger_s))
    script.chmod(0o755)
    return log


@pytest.fixture(scope="module")
def moved_project(tmp_path_factory, models_dir):
    """kws01 for a board with a pyOCD target: generated, built by tinyrig, then copied to a fresh
    folder and the original deleted, so nothing can point back at it."""
    require_tools("arm-none-eabi-gcc")
    origin = tmp_path_factory.mktemp("generated") / "kws01"
    board = load_board(HARDWARE_BOARD)
    render_project(board, get_benchmark("kws01"), models_dir / "kws01.tflite", origin)
    tinyrig_build = build_project(origin, "perf")
    reference_bin = tinyrig_build.elf.with_suffix(".bin").read_bytes()
    moved = tmp_path_factory.mktemp("elsewhere") / "my-port"
    shutil.copytree(origin, moved, ignore=shutil.ignore_patterns(".pio", ".pio-*.log"))
    shutil.rmtree(origin)
    return moved, reference_bin


def test_platformio_ini_names_nothing_outside_the_project(moved_project):
    project, _ = moved_project
    ini = (project / "platformio.ini").read_text()
    uris = [line.split("symlink://", 1)[1].strip() for line in ini.splitlines() if "symlink://" in line]
    assert len(uris) == 2, ini
    for uri in uris:
        assert not uri.startswith("/") and (project / uri).is_dir(), uri
        assert (project / uri / ("platform.json" if "platform-" in uri else "package.json")).is_file()
    assert str(REPO) not in ini and "/tmp" not in ini


def test_copied_project_builds_offline_with_plain_platformio(moved_project, tmp_path):
    project, reference_bin = moved_project
    result = _pio(project, "run", "-e", "perf", core_dir=tmp_path / "fresh-core")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    built = project / ".pio" / "build" / "perf" / "program.bin"
    # The same image tinyrig's own build made before the move.
    assert built.read_bytes() == reference_bin


def test_upload_flashes_the_elf_with_pyocd(moved_project, tmp_path):
    project, _ = moved_project
    fake_bin = tmp_path / "bin"
    log = _recorder(fake_bin, "pyocd")
    core = tmp_path / "core"
    result = _pio(project, "run", "-e", "perf", "-t", "upload", core_dir=core, extra_path=fake_bin)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert log.read_text().splitlines() == ["flash", "--target", "stm32l4r5zitx", ".pio/build/perf/program.elf"]
    result = _pio(project, "run", "-e", "perf", "-t", "upload", "--upload-port", "0669FF555", core_dir=core,
                  extra_path=fake_bin)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert log.read_text().splitlines() == ["flash", "--target", "stm32l4r5zitx", "--uid", "0669FF555",
                                            ".pio/build/perf/program.elf"]


def test_debug_starts_the_pyocd_gdb_server_and_gdb(moved_project, tmp_path):
    project, _ = moved_project
    fake_bin = tmp_path / "bin"
    server_log = _recorder(fake_bin, "pyocd")
    # PlatformIO 6.2.0 waits forever for a GDB that exits before it starts waiting: linger a little.
    gdb_log = _recorder(fake_bin, "gdb-multiarch", linger_s=3)
    output = tmp_path / "debug.log"
    # stdin stays open: at end of input PlatformIO 6.2.0's debug console spins on empty reads.
    with open(output, "wb") as log:
        debug = subprocess.Popen([str(PIO), "debug", "-e", "perf", "--interface=gdb", "--", "-batch"], cwd=project,
                                 env=_plain_environment(tmp_path / "core", fake_bin), stdin=subprocess.PIPE,
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        assert debug.wait(timeout=240) == 0, output.read_text()[-3000:]
    finally:
        if debug.poll() is None:
            debug.kill()
        debug.stdin.close()
        shutil.rmtree(project / ".pio" / "build" / "perf", ignore_errors=True)  # a debug (-Og) build now
    assert server_log.read_text().splitlines() == ["gdbserver", "--target", "stm32l4r5zitx", "--port", "3333"]
    gdb_args = gdb_log.read_text().splitlines()
    assert gdb_args[-1] == str(project / ".pio" / "build" / "perf" / "program.elf") and "-batch" in gdb_args


def test_readme_says_how_to_build_flash_and_debug(moved_project):
    project, _ = moved_project
    readme = (project / "README.md").read_text()
    for needed in ("pio run -e perf", "pio run -e perf -t upload", "pio debug -e perf --interface=gdb",
                   "pip install platformio==6.2.0 scons==4.11.1", f"`.tinyrig/{HARDWARE_BOARD}.toml`", "RM0432"):
        assert needed in readme, needed
    assert (project / ".tinyrig" / f"{HARDWARE_BOARD}.toml").read_text() == load_board(HARDWARE_BOARD).path.read_text()


def test_upload_without_a_pyocd_target_says_why(tmp_path, models_dir):
    project = tmp_path / "emulated"
    render_project(load_board("qemu-mps2-an386"), get_benchmark("kws01"), models_dir / "kws01.tflite", project)
    fake_bin = tmp_path / "bin"
    log = _recorder(fake_bin, "pyocd")
    result = _pio(project, "run", "-e", "perf", "-t", "upload", core_dir=tmp_path / "core", extra_path=fake_bin)
    assert result.returncode != 0
    assert "board qemu-mps2-an386 names no pyOCD target" in result.stdout + result.stderr
    assert not log.exists()
    assert "pio run -e perf -t upload" not in (project / "README.md").read_text()


def test_a_moved_project_finds_its_own_board_file(tmp_path, models_dir):
    """A user's board file is gone on the next machine: `tinyrig build --project` reads the copy."""
    board_file = tmp_path / "my-board.toml"
    shutil.copy(load_board(HARDWARE_BOARD).path, board_file)
    board_file.write_text(board_file.read_text().replace(f'name = "{HARDWARE_BOARD}"', 'name = "my-board"'))
    origin = tmp_path / "origin"
    render_project(load_board(str(board_file)), get_benchmark("kws01"), models_dir / "kws01.tflite", origin)
    moved = tmp_path / "moved"
    shutil.move(origin, moved)
    board_file.unlink()
    project = FirmwareProject.load(moved)
    assert Path(project.board_file) == moved / ".tinyrig" / "my-board.toml"
    assert load_board(project.board_file).name == "my-board"
    assert (moved / ".gitignore").read_text().splitlines() == [".pio/", ".pio-*.log"]
