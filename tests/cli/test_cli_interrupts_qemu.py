"""Commands other than `run` stopped by Ctrl-C or SIGTERM: the status says so (130 / 143, not 1,
which reads as a failed benchmark, nor a silent death by SIGTERM), one line, no traceback, and no
process they started lives on: not PlatformIO, SCons or the compilers of a build (before, SIGTERM
left `pio run` running forever in the firmware cache, as SIGKILL still did, and Ctrl-C left SCons
and cc1plus compiling),
not the QEMU of a profile. Real tinyrig, PlatformIO, gcc and QEMU."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinyrig_testing import require_tools
from tinyrig_testing.hostile_support import TRACEBACK

pytestmark = pytest.mark.qemu

STATUS = {"SIGINT": 130, "SIGTERM": 143}


def _default_sigint() -> None:
    """What a user's Ctrl-C finds, even when the test suite itself runs in the background (which
    passes SIGINT on as ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tinyrig.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_default_sigint)


def _processes_in(folder: Path, exclude: int) -> list[str]:
    """Live processes (not zombies) whose command line or working directory lies under `folder`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == exclude:
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{entry}/cwd")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile
        if state != "Z" and (str(folder) in cmdline or cwd.startswith(str(folder))):
            found.append(f"{entry}: {cmdline[:120]}")
    return found


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"ended before {what}: {proc.communicate()}"
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"never saw {what}")


def _compiling(cache: Path) -> bool:
    """A compiler at work in `cache` (read from each process's short comm first: a whole build takes
    seconds, each compiler a fraction of one, so the scan must be quick)."""
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and Path(f"/proc/{entry}/comm").read_text().strip() in ("cc1plus", "cc1", "as"):
                if os.readlink(f"/proc/{entry}/cwd").startswith(str(cache)):
                    return True
        except OSError:
            continue
    return False


def _assert_stopped_cleanly(proc: subprocess.Popen, how: str, command: str) -> str:
    out, err = proc.communicate(timeout=60)
    assert TRACEBACK not in out + err, err
    assert proc.returncode == STATUS[how], (proc.returncode, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and f"tinyrig {command} stopped" in lines[0], err
    return err


def _gone_within(folder: Path, seconds: float) -> list[str]:
    """What is still running under `folder` after up to `seconds` (a killed build's last compilers
    may take a moment to notice their pipe is gone)."""
    deadline = time.monotonic() + seconds
    while (left := _processes_in(folder, exclude=os.getpid())) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_build_stopped_mid_compile_leaves_no_compiler(how, tmp_path, models_dir):
    require_tools("arm-none-eabi-gcc")
    cache = tmp_path / "cache"
    env = dict(os.environ, TINYRIG_CACHE=str(cache), TINYRIG_DATA=str(tmp_path / "data"))
    env.pop("PLATFORMIO_BUILD_CACHE_DIR", None)  # the suite's shared object cache would skip the compilers
    proc = _start(["build", "--board", "qemu-mps2-an386", "--benchmark", "vww01", "--models", str(models_dir)], env)
    try:
        _wait_for(lambda: _compiling(cache), proc, "the compiler at work")
        os.kill(proc.pid, getattr(signal, how))
        if how == "SIGKILL":  # nothing of tinyrig runs: PlatformIO's death signal takes the build down
            proc.communicate(timeout=60)
            assert proc.returncode == -signal.SIGKILL
        else:
            _assert_stopped_cleanly(proc, how, "build")
        time.sleep(1.0)  # a leaked build keeps going; give it the time to show
        assert _gone_within(cache, 4.0) == []
    finally:
        if proc.poll() is None:
            proc.kill()

    # The next build over the interrupted one completes (no half-written object is taken as built).
    again = subprocess.run([sys.executable, "-m", "tinyrig.cli", "build", "--board", "qemu-mps2-an386",
                            "--benchmark", "vww01", "--models", str(models_dir)], env=env, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "program.elf" in again.stdout


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_profile_stopped_under_qemu(how, tmp_path, models_dir):
    require_tools("arm-none-eabi-gcc", "qemu-system-arm")
    from tinyrig.hil.targets.processes import tinyrig_emulators

    env = dict(os.environ, TINYRIG_DATA=str(tmp_path / "data"))
    proc = _start(["profile", "--board", "qemu-mps2-an386", "--benchmark", "kws01", "--models", str(models_dir)], env)
    try:
        _wait_for(lambda: tinyrig_emulators(started_by=proc.pid), proc, "the profile's QEMU")
        os.kill(proc.pid, getattr(signal, how))
        _assert_stopped_cleanly(proc, how, "profile")
        assert tinyrig_emulators(started_by=proc.pid) == []
    finally:
        if proc.poll() is None:
            proc.kill()
