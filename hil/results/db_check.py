"""`tinyrig db check`: what is wrong with a results database, in words, and what to do.

A run never depends on the database (the session folder holds everything and `tinyrig record`
adds it later), so when recording fails the user needs to know why: a file that is not a
database at all, one damaged inside, one that cannot be written, one from a newer tinyrig.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from tinyrig.hil.results.db import (
    SCHEMA_VERSION,
    ResultsDB,
    ResultsDBError,
    metadata,
    resolve_db_url,
    sessions,
    sqlite_file,
)

SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass
class Finding:
    ok: bool
    text: str


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


def _file_findings(path, url: str) -> list[Finding]:
    """What the file itself says, before SQLite opens it."""
    if not path.exists():
        return [Finding(False, f"no database file at {path}; `tinyrig run` or `tinyrig record` creates it")]
    if not path.is_file():
        return [Finding(False, f"{path} is not a regular file; give --db a file path")]
    with open(path, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if len(header) == 0:
        return [Finding(True, f"{path} is empty; the next `tinyrig record` makes it a results database")]
    if header != SQLITE_HEADER:
        return [Finding(False, f"{path} is not a SQLite database (it starts with {header[:8]!r}); move it aside "
                               f"(mv {path} {path}.broken) and re-record the session folders with `tinyrig record`")]
    findings = [Finding(True, f"{path} is a SQLite database ({path.stat().st_size:,} bytes)")]
    read_only = "mode=ro" in url or "immutable=1" in url
    if read_only or not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        findings.append(Finding(True, f"{path} is read-only here: `tinyrig run` measures but cannot record, "
                                      f"`tinyrig compare` cannot store verdicts"))
    return findings


def _content_findings(database: ResultsDB) -> list[Finding]:
    findings = []
    with database.engine.connect() as conn:
        if database.engine.dialect.name == "sqlite":
            problems = [row[0] for row in conn.execute(text("PRAGMA quick_check"))]
            if problems != ["ok"]:
                findings.append(Finding(False, f"SQLite finds the file damaged: {problems[0]} "
                                               f"({len(problems)} problem(s)); re-record the sessions into a new file"))
                return findings
        missing = sorted(set(metadata.tables) - set(inspect(conn).get_table_names()))
        if missing:
            findings.append(Finding(False, f"tables missing: {', '.join(missing)}; opening it for writing creates them"))
            return findings
        count = conn.execute(select(func.count()).select_from(sessions)).scalar_one()
        unreadable = running = 0
        for sid, status, document in conn.execute(select(sessions.c.id, sessions.c.status, sessions.c.results)):
            running += status == "running"
            try:
                json.loads(document)
            except (TypeError, ValueError):
                unreadable += 1
    findings.append(Finding(True, f"schema version {SCHEMA_VERSION}, {count} session(s) recorded"))
    if unreadable:
        findings.append(Finding(False, f"{unreadable} session(s) have an unreadable results document; re-record "
                                       f"them from their folders with `tinyrig record`"))
    if running:
        findings.append(Finding(True, f"{running} session(s) recorded while still running"))
    return findings


def check_database(db=None) -> list[Finding]:
    """Findings from the file up to the rows; any finding with ok=False means the database needs care."""
    try:
        url = resolve_db_url(db)
    except ResultsDBError as exc:
        return [Finding(False, str(exc))]
    findings = []
    path = sqlite_file(url)
    if path is not None:
        try:
            findings += _file_findings(path, url)
            if not all(f.ok for f in findings) or path.stat().st_size == 0:
                return findings
        except OSError as exc:  # a name too long for the file system, a loop of links
            return [Finding(False, f"{path}: {exc.strerror or exc}")]
    try:
        database = ResultsDB.open(db, must_exist=path is not None)
    except ResultsDBError as exc:
        return findings + [Finding(False, str(exc).split("; `tinyrig db check`")[0])]
    try:
        findings += _content_findings(database)
    except SQLAlchemyError as exc:
        findings.append(Finding(False, f"reading {database.display_url} failed: {_reason(exc)}"))
    finally:
        database.close()
    return findings
