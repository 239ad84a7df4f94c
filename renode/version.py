"""Which Renode tinyrig is about to drive, and whether tinyrig supports it.

tinyrig asks the binary itself (`renode --version`) before it starts a machine, once per binary
per process, and refuses a Renode older than it supports with one line that says what is
installed, where, and what is needed. Newer releases are accepted: the monitor commands and
platform files tinyrig uses have not changed from 1.15.0 to 1.16.1, and a missing platform file
is reported by name when a machine is built (see hil/renode.py).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinyrig.renode.scratch import RenodeScratch

# The oldest release whose monitor commands (CreateServerSocketTerminal, SetHookBeforePeripheralWrite,
# --config), cpu.ExecutedInstructions and platform files (stm32f4_discovery-kit.repl, stm32f746.repl)
# tinyrig's scripts were checked against; TESTED is the release CI runs the real-Renode tests on.
MINIMUM = (1, 15, 0)
TESTED = (1, 16, 0)
SUPPORTED = f"Renode {'.'.join(map(str, MINIMUM))} or newer (CI tests {'.'.join(map(str, TESTED))})"

# `renode --version` prints "Renode v1.16.0.7005" (then build lines); the monitor banner says
# "Renode, version 1.15.3.27963 (...)". Both carry major.minor.patch, optionally a build number.
_VERSION_RE = re.compile(r"Renode,?\s+(?:version\s+)?v?(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?")


class RenodeVersionError(RuntimeError):
    """The version could not be read, or tinyrig does not support it."""


@dataclass(frozen=True)
class RenodeVersion:
    major: int
    minor: int
    patch: int
    build: int | None = None

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def parse_version(text: str) -> RenodeVersion:
    match = _VERSION_RE.search(text)
    if match is None:
        raise ValueError(f"no Renode version in {text.strip()[:200]!r}")
    major, minor, patch, build = match.groups()
    return RenodeVersion(int(major), int(minor), int(patch), int(build) if build else None)


_cache: dict[tuple[str, int], RenodeVersion] = {}


def read_version(binary: str, timeout_s: float = 60.0) -> RenodeVersion:
    """`binary --version`, parsed; cached per binary (path and modification time) for this process.

    Renode starts its runtime even for --version and cleans up `$TMPDIR/renode-*` while doing so,
    so this process too gets a private, empty TMPDIR.
    """
    path = str(Path(binary).resolve())
    try:
        key = (path, os.stat(path).st_mtime_ns)
    except OSError as exc:
        raise RenodeVersionError(f"cannot read Renode at {binary}: {exc}") from None
    if key in _cache:
        return _cache[key]
    with RenodeScratch() as scratch:
        try:
            proc = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=timeout_s,
                                  stdin=subprocess.DEVNULL, env=scratch.environment(), cwd=scratch.directory)
        except subprocess.TimeoutExpired:
            raise RenodeVersionError(f"'{binary} --version' did not answer within {timeout_s:.0f} s") from None
        except OSError as exc:
            raise RenodeVersionError(f"cannot run '{binary} --version': {exc}") from None
    output = proc.stdout + proc.stderr
    try:
        version = parse_version(output)
    except ValueError:
        tail = " | ".join(line.strip() for line in output.strip().splitlines()[-3:]) or "(no output)"
        raise RenodeVersionError(f"'{binary} --version' exited with {proc.returncode} and printed no version: "
                                 f"{tail}") from None
    _cache[key] = version
    return version


def check_supported(version: RenodeVersion, binary: str) -> None:
    """Raises RenodeVersionError, naming the installed version, for a Renode older than MINIMUM."""
    if version.release < MINIMUM:
        raise RenodeVersionError(f"Renode {version} at {binary} is too old: tinyrig supports {SUPPORTED}; "
                                 "install a newer release (docs/renode.md)")
