"""Where tinyrig keeps its state: a cache (PlatformIO core, built firmware, downloaded models)
and a data folder (sessions), both overridable for CI and for users who keep them elsewhere."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("TINYRIG_CACHE"):
        return Path(os.environ["TINYRIG_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinyrig"


def data_dir() -> Path:
    if os.environ.get("TINYRIG_DATA"):
        return Path(os.environ["TINYRIG_DATA"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "tinyrig"


def sessions_dir() -> Path:
    return Path(os.environ.get("TINYRIG_SESSIONS") or data_dir() / "sessions").expanduser()
