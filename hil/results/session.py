"""A session folder per run: the transcript (log.txt), the results (results.json) and one result
folder per benchmark and mode in the MLPerf Tiny runner's layout (`<id>/<mode>/`, see folders.py).

Everything is written as it happens: every line in and out is appended and flushed, and the
results file is rewritten atomically after each finished window or file, so a crash, a dead
emulator or Ctrl-C keeps everything measured so far. The results are a typed `SessionResults`
(schema.py); an older session is migrated when it is opened and saved at the current version.
"""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tinyrig.hil.results.folders import LOG_FILE, write_result_folders
from tinyrig.hil.results.schema import RESULTS_FILE, SCHEMA_VERSION, BenchmarkEntry, SessionResults, read_results

__all__ = ["SCHEMA_VERSION", "Session", "LOG_FILE"]
# Emulator by-products (pin-marker logs, Renode working folders): kept, but out of the result folders.
EMULATOR_DIR = "emulator"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Session:
    def __init__(self, directory: Path, results: SessionResults):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.results = results
        self._t0 = time.monotonic()
        self._log = open(self.directory / LOG_FILE, "a", encoding="utf-8")
        # Benchmarks may run in parallel (`tinyrig run -j N`): writes take turns.
        self.lock = threading.RLock()

    @classmethod
    def create(cls, root: Path, *, board: str, target: str, mode: str, meta: dict[str, Any] | None = None) -> "Session":
        """A new session folder; `meta` sets the session's own facts (tinyrig_version, git_revision, ...)."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        base = Path(root) / _slug(f"{stamp}-{board}-{mode}")
        directory, n = base, 1
        while directory.exists():
            n += 1
            directory = base.with_name(f"{base.name}-{n}")
        results = SessionResults.model_validate({"created": _now(), "board": board, "target": target, "mode": mode,
                                                 **(meta or {})})
        session = cls(directory, results)
        session.save()
        return session

    @classmethod
    def open(cls, directory: Path) -> "Session":
        """Re-opens an existing session (to resume it, or to report on it); raises ResultsFileError
        (a ValueError) naming the folder when it is not a readable session."""
        return cls(directory, read_results(directory))

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

    def benchmark(self, benchmark_id: str) -> BenchmarkEntry:
        with self.lock:
            return self.results.benchmarks.setdefault(benchmark_id, BenchmarkEntry())

    def result_dir(self, benchmark_id: str) -> Path:
        """The benchmark's result folder in the runner's layout (`<id>/<mode>/`), created on first use."""
        folder = self.directory / benchmark_id / self.results.mode
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def emulator_dir(self) -> Path:
        folder = self.directory / EMULATOR_DIR
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def save(self) -> None:
        path = self.directory / RESULTS_FILE
        tmp = path.with_suffix(".json.tmp")
        with self.lock:
            # pydantic-core serialises while holding the GIL, so another benchmark's thread cannot
            # change a list half-way through: the file is always a consistent snapshot.
            text = self.results.model_dump_json(indent=2)
            tmp.write_text(text + "\n", encoding="utf-8")
            os.replace(tmp, path)

    def write_result_folders(self) -> list[Path]:
        """Each benchmark's result folder (results.txt, log.txt) from the results as they are now."""
        with self.lock:
            if not self._log.closed:
                self._log.flush()
            return write_result_folders(self.directory, self.results)

    def finish(self, status: str = "complete") -> None:
        self.results.status = status
        self.results.finished = _now()
        self.save()
        self.write_result_folders()

    def close(self) -> None:
        self._log.close()
