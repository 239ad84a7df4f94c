"""Shared test set-up: the reference models beside the repository, and tool checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared" / "mlperf-tiny"

# The README's test command needs no variables: default to the models beside the repository.
if not os.environ.get("TINYRIG_MODELS") and (SHARED / "models").is_dir():
    os.environ["TINYRIG_MODELS"] = str(SHARED / "models")


@pytest.fixture(scope="session")
def models_dir() -> Path:
    path = Path(os.environ.get("TINYRIG_MODELS", SHARED / "models"))
    if not path.is_dir():
        pytest.skip(f"reference models not found at {path}")
    return path
