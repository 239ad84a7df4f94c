"""Build a generated project with PlatformIO, offline, and report its memory use.

PlatformIO's state lives in tinyrig's cache folder, never in ~/.platformio, and every call
names its environment: a bare `pio run` could wander off to the registry. The settings below
keep PlatformIO from phoning home (telemetry, upgrade checks), as measured in
docs/platformio.md of the shared notes.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tinyrig.paths import cache_dir
from tinyrig.process_group import run_in_own_group

FLASH_SECTIONS = (".isr_vector", ".text", ".rodata", ".ARM.exidx", ".init_array", ".data")
RAM_SECTIONS = (".data", ".bss")


class BuildError(RuntimeError):
    """PlatformIO failed; the message carries the compiler's own words (the reason on its first line).
    `ram_overflow`: the link failed because .data, .bss and the stack do not fit the board's RAM."""

    def __init__(self, message: str, ram_overflow: bool = False):
        super().__init__(message)
        self.ram_overflow = ram_overflow


# The linker script's own check (templates/firmware/linker.ld.j2) when the sections fit but the stack does not.
_RAM_ASSERT = "tinyrig: RAM overflow"


def overflows_ram(log: str) -> bool:
    """Whether the link failed for want of RAM (the linker's region overflow or the stack check)."""
    return _RAM_ASSERT in log or "RAM" in overflowed_regions(log)


def overflowed_regions(log: str) -> dict[str, int]:
    """The memory regions the linker says overflowed, and by how many bytes."""
    return {m.group(1): int(m.group(2)) for m in map(_OVERFLOW.search, log.splitlines()) if m}


# The linker's words for an image that does not fit: `region `RAM' overflowed by 11172 bytes`.
_OVERFLOW = re.compile(r"region `?'?(\w+)'? overflowed by (\d+) bytes")
# Lines that only say that something failed, not why (the linker's echo, make's, PlatformIO's summary table).
_ECHOES = re.compile(r"collect2: error: ld returned|\*\*\* \[.*\] Error \d+|^=+|\bFAILED\b"
                     r"|^[-\s]+$|^Environment\s+Status")
# PlatformIO's memory table: `             RAM:       93196 B        96 KB     94.80%`.
_REGION_USE = re.compile(r"^\s*(\w+):\s+(\d+) B\s+(\d+(?:\.\d+)? [KMG]?B)\s")


def failure_reason(log: str) -> str:
    """The one line that says why a build failed: the memory regions that overflowed and by how much
    (the linker prints that after the line PlatformIO's summary shows), the stack that no longer fits
    (tinyrig's linker script check), else the first compiler or linker error."""
    lines = log.splitlines()
    overflows = overflowed_regions(log)
    if overflows:
        return "the image does not fit the board: " + ", ".join(
            f"{region} overflowed by {n:,} bytes" for region, n in overflows.items())
    if _RAM_ASSERT in log:
        used = next((m for m in map(_REGION_USE.match, lines) if m and m.group(1) == "RAM"), None)
        taken = f" (.data + .bss take {int(used.group(2)):,} B of its {used.group(3)})" if used else ""
        return f"the image does not fit the board: no room is left in RAM for the stack reserve{taken}"
    for line in lines:
        if re.search(r"\berror\b", line, re.IGNORECASE) and not _ECHOES.search(line):
            return line.strip()
    for line in lines:  # the linker's own diagnostics need not say "error"
        if re.search(r"\bld(?:\.exe)?: ", line) and not _ECHOES.search(line):
            return line.strip()
    meaningful = [line.strip() for line in lines if line.strip() and not _ECHOES.search(line)]
    return meaningful[-1] if meaningful else "no output"


@dataclass
class SizeReport:
    sections: dict[str, int]
    flash_bytes: int
    ram_bytes: int
    flash_capacity: int
    ram_capacity: int

    @property
    def flash_percent(self) -> float:
        return 100.0 * self.flash_bytes / self.flash_capacity if self.flash_capacity else 0.0

    @property
    def ram_percent(self) -> float:
        return 100.0 * self.ram_bytes / self.ram_capacity if self.ram_capacity else 0.0


@dataclass
class BuildResult:
    project: Path
    env: str
    elf: Path
    size: SizeReport
    log: str = field(repr=False, default="")


def pio_environment(core_dir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PLATFORMIO_CORE_DIR=str(core_dir or cache_dir() / "platformio"),
        PLATFORMIO_SETTING_ENABLE_TELEMETRY="No",
        PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="36500",
        PLATFORMIO_DISABLE_UPGRADE_CHECK="true",
        PLATFORMIO_NO_ANSI="true",
    )
    # The SCons that tool-scons/scons.py imports is the one in this Python environment.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@contextmanager
def _core_lock(core_dir: Path):
    """PlatformIO keeps one tool-scons link per core dir: concurrent builds take turns."""
    core_dir.mkdir(parents=True, exist_ok=True)
    with open(core_dir / ".tinyrig.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pio_command() -> list[str]:
    return [sys.executable, "-m", "platformio"]


def size_report(elf: Path, flash_capacity: int, ram_capacity: int, stack_bytes: int = 0) -> SizeReport:
    """Section sizes from `arm-none-eabi-size -A`; RAM counts .data, .bss and the stack reserve."""
    out = subprocess.run(["arm-none-eabi-size", "-A", "-d", str(elf)], capture_output=True, text=True, check=True)
    sections: dict[str, int] = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        # Debug sections and the compiler's comment are not loaded on the target.
        if parts and parts[0].startswith((".debug", ".comment")):
            continue
        if len(parts) >= 3 and parts[0].startswith(".") and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    flash = sum(sections.get(name, 0) for name in FLASH_SECTIONS)
    ram = sum(sections.get(name, 0) for name in RAM_SECTIONS) + stack_bytes
    if stack_bytes:
        sections["(stack reserve)"] = stack_bytes
    return SizeReport(sections, flash, ram, flash_capacity, ram_capacity)


def build_project(project: Path, env_name: str = "perf", *, flash_capacity: int = 0, ram_capacity: int = 0,
                  stack_bytes: int = 0, timeout_s: float = 600.0, verbose: bool = False) -> BuildResult:
    project = Path(project).resolve()
    if not (project / "platformio.ini").is_file():
        raise BuildError(f"{project}: not a PlatformIO project (no platformio.ini); run `tinyrig generate` first")
    core_dir = cache_dir() / "platformio"
    cmd = _pio_command() + ["run", "-d", str(project), "-e", env_name]
    if verbose:
        cmd.append("-v")
    with _core_lock(core_dir):
        try:
            # Its own process group: Ctrl-C, SIGTERM or the timeout stop SCons and the compilers too.
            proc = run_in_own_group(cmd, env=pio_environment(core_dir), timeout_s=timeout_s)
        except subprocess.TimeoutExpired:
            raise BuildError(f"{project}: `pio run -e {env_name}` took longer than {timeout_s:.0f} s") from None
    log = proc.stdout + proc.stderr
    (project / f".pio-{env_name}.log").write_text(log)
    if proc.returncode != 0:
        errors = [line for line in log.splitlines() if "error" in line.lower() or "warning" in line.lower()]
        shown = "\n".join(errors[-20:]) or "\n".join(log.splitlines()[-20:])
        raise BuildError(f"{project}: `pio run -e {env_name}` failed: {failure_reason(log)} "
                         f"(log: {project / f'.pio-{env_name}.log'})\n{shown}", ram_overflow=overflows_ram(log))
    elf = project / ".pio" / "build" / env_name / "program.elf"
    if not elf.is_file():
        raise BuildError(f"{project}: PlatformIO reported success but {elf} is missing")
    return BuildResult(project, env_name, elf, size_report(elf, flash_capacity, ram_capacity, stack_bytes), log)
