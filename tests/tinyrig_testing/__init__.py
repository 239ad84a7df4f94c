"""Helpers shared by tinyrig's own tests (a module with its own name: sub-folders have conftests)."""

from __future__ import annotations

import shutil

import pytest


def require_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH (scripts/setup.sh installs them)")
