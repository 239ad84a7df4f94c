"""Fixtures for the Renode tests: a fake `renode` executable (the fast tier, replaying recorded
transcripts), a tiny ELF with the marker symbol, and the real Renode (the slow tier)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from tinyrig_testing import fake_renode as fake_renode_module
from tinyrig_testing.marker_elf import build_marker_elf

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


@pytest.fixture(scope="session")
def marker_elf(tmp_path_factory) -> Path:
    """A minimal Cortex-M ELF with sized board_pin_mark/board_pin_pulse symbols (for symbol_range)."""
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-nm"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} on PATH (scripts/setup.sh installs it)")
    return build_marker_elf(tmp_path_factory.mktemp("elf"))


# -- the real Renode ------------------------------------------------------------------------------

REPO = HERE.parents[1]
SHARED_RENODE = REPO.parent / "shared" / "renode"  # where CI keeps the Renode build (.ci/run)
SETUP_HINT = "run `bash scripts/setup.sh --test`, which unpacks it into tinyrig's cache"


def _installed_renodes() -> list[Path]:
    """Renode launchers scripts/setup_renode.sh unpacked into tinyrig's cache, newest first."""
    from tinyrig.paths import cache_dir

    found = [p for p in (cache_dir() / "renode").glob("renode-*/renode") if (p.parent / ".renode-root").is_file()]
    return sorted(found, key=lambda p: [int(x) if x.isdigit() else x for x in p.parent.name.split("-")[1].split(".")],
                  reverse=True)


def _missing(what: str) -> None:
    """Fails where CI has the Renode build beside the repository (the tests must run there), else skips."""
    if list(SHARED_RENODE.glob("renode-*.tar.xz")):
        pytest.fail(f"{what}, although {SHARED_RENODE} holds a Renode build: {SETUP_HINT}")
    pytest.skip(f"{what}: install Renode as docs/renode.md describes (or set TINYRIG_RENODE), then run "
                "pytest -m renode tests/renode")


@pytest.fixture(scope="session")
def real_renode() -> Path:
    """A real Renode: $TINYRIG_RENODE, the one unpacked into tinyrig's cache, or `renode` on PATH."""
    explicit = os.environ.get("TINYRIG_RENODE")
    if explicit:
        path = shutil.which(explicit)
        if path is None:
            pytest.fail(f"TINYRIG_RENODE={explicit} is not an executable")
        return Path(path)
    installed = _installed_renodes()
    if installed:
        return installed[0]
    on_path = shutil.which("renode")
    if on_path:
        return Path(on_path)
    _missing("no Renode found (TINYRIG_RENODE, tinyrig's cache, PATH)")


@pytest.fixture(scope="session")
def renode_test(real_renode) -> tuple[Path, dict[str, str]]:
    """The renode-test launcher beside `real_renode`, and an environment whose python3 has its packages."""
    launcher = real_renode.parent / "renode-test"
    if not launcher.is_file():
        launcher = Path(shutil.which("renode-test") or launcher)
    if not launcher.is_file():
        _missing(f"no renode-test beside {real_renode}")
    env = dict(os.environ)
    venv = real_renode.parent.parent / "renode-test-venv" / "bin"
    if (venv / "python3").is_file():
        env["PATH"] = f"{venv}{os.pathsep}{env.get('PATH', '')}"  # renode-test runs `python3`
    return launcher, env


@pytest.fixture(scope="session")
def renode_env(real_renode) -> dict[str, str]:
    """The environment for `tinyrig` subprocesses: TINYRIG_RENODE set to the real Renode."""
    return dict(os.environ, TINYRIG_RENODE=str(real_renode))
