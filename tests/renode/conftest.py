"""Fixtures for the Renode tests: a fake `renode` executable and a tiny ELF with the marker symbol."""

from __future__ import annotations

import json
import shutil
import stat
import sys
from pathlib import Path

import pytest
from marker_elf import build_marker_elf

HERE = Path(__file__).resolve().parent


@pytest.fixture
def fake_renode(tmp_path, monkeypatch):
    """Returns configure(script: dict) -> path of a `renode` executable that runs fake_renode.py."""
    exe = tmp_path / "bin" / "renode"
    exe.parent.mkdir()
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'fake_renode.py'} \"$@\"\n")
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


@pytest.fixture(scope="session")
def marker_elf(tmp_path_factory) -> Path:
    """A minimal Cortex-M ELF with sized board_pin_mark/board_pin_pulse symbols (for symbol_range)."""
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-nm"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} on PATH (scripts/setup.sh installs it)")
    return build_marker_elf(tmp_path_factory.mktemp("elf"))
