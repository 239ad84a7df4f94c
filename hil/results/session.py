"""A session folder per run: the transcript (log.txt) and the results (results.json, results.txt).

Everything is written as it happens: every line in and out is appended and flushed, and the
results file is rewritten atomically after each finished window or file, so a crash, a dead
emulator or Ctrl-C keeps everything measured so far.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tinyrig.hil.results import txt

SCHEMA_VERSION = 1


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


class Session:
    def __init__(self, directory: Path, results: dict[str, Any]):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.results = results
        self._t0 = time.monotonic()
        self._log = open(self.directory / "log.txt", "a", encoding="utf-8")
        # Benchmarks may run in parallel (`tinyrig run -j N`): writes take turns.
        self.lock = threading.RLock()

    @classmethod
    def create(cls, root: Path, *, board: str, target: str, mode: str, meta: dict[str, Any] | None = None) -> "Session":
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        base = Path(root) / _slug(f"{stamp}-{board}-{mode}")
        directory, n = base, 1
        while directory.exists():
            n += 1
            directory = base.with_name(f"{base.name}-{n}")
        results = {
            "schema_version": SCHEMA_VERSION,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "board": board,
            "target": target,
            "mode": mode,
            "status": "running",
            **(meta or {}),
            "benchmarks": {},
        }
        session = cls(directory, results)
        session.save()
        return session

    @classmethod
    def open(cls, directory: Path) -> "Session":
        """Re-opens an existing session (to resume it, or to report on it)."""
        path = Path(directory) / "results.json"
        try:
            results = json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{directory}: not a tinyrig session (no results.json)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: unreadable results file: {exc}") from None
        return cls(directory, results)

    # The DUT transcript: one line per line sent or received, with time since the session began.
    def log(self, direction: str, line: str, tag: str | None = None) -> None:
        arrow = {"send": ">", "recv": "<"}.get(direction, "#")
        wall = datetime.now(timezone.utc).strftime("%H:%M:%S.%f")[:-3]
        prefix = f"[{tag}] " if tag else ""
        with self.lock:
            self._log.write(f"{wall} {time.monotonic() - self._t0:10.3f} {prefix}{arrow} {line}\n")
            self._log.flush()

    def transcript(self, tag: str):
        """A DUT transcript callback that tags each line with (say) the benchmark it belongs to."""
        return lambda direction, line: self.log(direction, line, tag)

    def note(self, text: str, tag: str | None = None) -> None:
        self.log("note", text, tag)

    def benchmark(self, benchmark_id: str) -> dict[str, Any]:
        return self.results["benchmarks"].setdefault(benchmark_id, {})

    def save(self) -> None:
        path = self.directory / "results.json"
        tmp = path.with_suffix(".json.tmp")
        with self.lock:
            # json's C encoder (no indent) runs without releasing the GIL, so it sees a consistent
            # snapshot even while another benchmark's thread appends to its own entry.
            snapshot = json.dumps(self.results)
            tmp.write_text(json.dumps(json.loads(snapshot), indent=2) + "\n")
            os.replace(tmp, path)

    def write_text(self) -> Path:
        """results.txt beside results.json: the MLPerf Tiny runner's text summary of what is there now."""
        return txt.write(self.directory, self.results)

    def finish(self, status: str = "complete") -> None:
        self.results["status"] = status
        self.results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.save()

    def close(self) -> None:
        self._log.close()
