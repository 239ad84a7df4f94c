"""Shared test set-up: the reference models beside the repository, and the test tiers.

Tiers: `pytest -m "not qemu"` is the fast tier (no firmware build, no emulator); `pytest -m qemu`
the slow one. A test module that builds firmware or runs an emulator either declares
`pytestmark = pytest.mark.qemu` or is named `*_qemu.py`, which marks every test in it.
Helpers (model builders, simulated instruments, the fake Renode) import as `tinyrig_testing`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared" / "mlperf-tiny"

# The README's test command needs no variables: default to the models beside the repository.
if not os.environ.get("TINYRIG_MODELS") and (SHARED / "models").is_dir():
    os.environ["TINYRIG_MODELS"] = str(SHARED / "models")


@pytest.fixture(scope="session", autouse=True)
def shared_object_cache(tmp_path_factory) -> Path:
    """One PlatformIO build cache (SCons CacheDir) for every firmware the session builds, the CLI's
    subprocesses included. Most of a test firmware's objects (drivers, API shim, kernel sources) are
    the same from test to test; SCons reuses an object only when its build signature matches:
    every source and header it includes, byte for byte, and the compiler command line. A failed
    compile (warnings are errors) is never stored. A fresh folder per session, so nothing made by
    another toolchain or checkout is ever reused."""
    path = Path(os.environ.setdefault("PLATFORMIO_BUILD_CACHE_DIR", str(tmp_path_factory.mktemp("pio-build-cache"))))
    return path


@pytest.fixture(scope="session")
def models_dir() -> Path:
    path = Path(os.environ.get("TINYRIG_MODELS", SHARED / "models"))
    if not path.is_dir():
        pytest.skip(f"reference models not found at {path}")
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name.endswith("_qemu.py"):
            item.add_marker(pytest.mark.qemu)
