"""Fixtures for the Renode tests: a fake `renode` executable and a tiny ELF with the marker symbol."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tinyrig_testing import fake_renode as fake_renode_module

HERE = Path(__file__).resolve().parent
FAKE_RENODE = Path(fake_renode_module.__file__)


@pytest.fixture
def fake_renode(tmp_path, monkeypatch):
    """Returns configure(script: dict) -> path of a `renode` executable that runs fake_renode.py."""
    exe = tmp_path / "bin" / "renode"
    exe.parent.mkdir()
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_RENODE} \"$@\"\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)

    def configure(script: dict | None = None) -> Path:
        script = dict(script or {})
        script.setdefault("record", str(tmp_path / "commands.json"))
        path = tmp_path / "fake-renode.json"
        path.write_text(json.dumps(script))
        monkeypatch.setenv("FAKE_RENODE_SCRIPT", str(path))
        return exe

    return configure


def recorded(tmp_path: Path) -> list[str]:
    path = tmp_path / "commands.json"
    return json.loads(path.read_text()) if path.exists() else []


MARKER_C = """
volatile unsigned pin;
void board_pin_mark(void) { pin = 1u; }
void board_pin_pulse(void) { pin = 0u; pin = 1u; }
void Reset_Handler(void) { board_pin_mark(); board_pin_pulse(); for (;;) {} }
"""


@pytest.fixture(scope="session")
def marker_elf(tmp_path_factory) -> Path:
    """A minimal Cortex-M ELF with sized board_pin_mark/board_pin_pulse symbols (for symbol_range)."""
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-nm"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} on PATH (scripts/setup.sh installs it)")
    out = tmp_path_factory.mktemp("elf")
    src = out / "marker.c"
    src.write_text(MARKER_C)
    elf = out / "marker.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-O1", "-nostdlib", "-Wl,-e,Reset_Handler",
                    "-Wl,-Ttext=0x08000000", str(src), "-o", str(elf)], check=True, capture_output=True)
    return elf
