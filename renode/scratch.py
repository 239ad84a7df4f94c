"""A private, empty temp directory for one Renode process.

At start-up Renode deletes every directory `$TMPDIR/renode-<suffix>` whose suffix is not the id
of a live process (TemporaryFilesManager.Cleanup in renode-infrastructure): with the system
TMPDIR that removes other programs' `renode-*` folders, and those of Renodes started by other
users whose pids it cannot see. So every Renode tinyrig starts (including `renode --version`)
gets TMPDIR pointing at a directory of its own, created empty, never named `renode-*`, and
removed when the process is done.

Renode's configuration file (terminal, plugins, history path) goes beside it (`--config`): a
user's ~/.config/renode cannot change a measurement, and concurrent runs share no lock file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "tinyrig-rn-"  # not "renode-": Renode's clean-up matches that prefix


class RenodeScratch:
    """`directory` (made now, in the system temp dir unless `parent` is given) holds `tmp`, the
    empty TMPDIR, and `config_path`; `environment()` is os.environ with TMPDIR pointing to `tmp`."""

    def __init__(self, parent: Path | str | None = None):
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
        self.tmp = self.directory / "tmp"
        self.tmp.mkdir()
        self.config_path = self.directory / "renode.config"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # Mono and .NET take the temp path from TMPDIR on Unix; TMP/TEMP for tools Renode starts.
        for name in ("TMPDIR", "TMP", "TEMP"):
            env[name] = str(self.tmp)
        return env

    def crash_reports(self) -> list[Path]:
        """What a crashed Renode left behind (it renames its temp folder to `renode-<pid>-crash`)."""
        return sorted(p for p in self.tmp.glob("*-crash") if p.is_dir()) if self.tmp.is_dir() else []

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "RenodeScratch":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()
