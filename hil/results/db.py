"""The results database: every finished session, queryable over time.

One store, two back ends through SQLAlchemy Core: SQLite by default (a file under tinyrig's data
folder, or `--db PATH`), PostgreSQL for a team (`--db postgresql+psycopg://user@host/db`). The
schema is deliberately plain so both dialects hold it unchanged:

  tinyrig_sessions    one row per session: board, target, mode, versions, git revision, the gate
                      verdict, and the whole results.json (so compare can rebuild any figure)
  tinyrig_benchmarks  one row per (session, benchmark): hashes, flash and RAM, status, validity
  tinyrig_metrics     every scalar figure by dotted name (summary.median_latency_us,
                      accuracy.top1, energy.per_inference_j, ...): new modes need no migration
  tinyrig_samples     one row per window, file or layer, with its figures as JSON

A session is written in one transaction, so a run killed while recording leaves either the whole
session or nothing. Re-recording the same session id replaces it (or does nothing when its
results are unchanged), which makes imports idempotent.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from tinyrig.hil.results import figures as figures
from tinyrig.hil.results.schema import ResultsFileError, SessionResults, parse_results, read_results
from tinyrig.paths import data_dir

SCHEMA_VERSION = 1
DB_ENV = "TINYRIG_DB"
# Sessions still being written are not history yet; everything else is (an interrupted or
# incomplete session is recorded for the record but never chosen as a baseline).
UNFINISHED = ("running",)

metadata = MetaData()

schema_info = Table(
    "tinyrig_schema", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

sessions = Table(
    "tinyrig_sessions", metadata,
    Column("id", String(255), primary_key=True),
    Column("path", Text),
    Column("board", String(128), index=True),
    Column("target", String(64)),
    Column("mode", String(64), index=True),
    Column("status", String(32)),
    Column("created", DateTime(timezone=True), index=True),
    Column("finished", DateTime(timezone=True)),
    Column("tinyrig_version", String(64)),
    Column("compiler", Text),
    Column("icount_shift", Integer),
    Column("git_revision", String(64)),
    Column("git_dirty", Boolean),
    Column("host", String(255)),
    Column("recorded_at", DateTime(timezone=True)),
    # "pass" or "fail" once `tinyrig compare` has judged this session as a candidate; a failed
    # session is never the "last good run" a later night compares against.
    Column("gate", String(16)),
    Column("results_sha256", String(64)),
    Column("results", Text, nullable=False),
)

benchmarks = Table(
    "tinyrig_benchmarks", metadata,
    Column("session_id", String(255), primary_key=True),
    Column("benchmark", String(64), primary_key=True, index=True),
    Column("status", String(32)),
    Column("emulated", Boolean),
    Column("source_sha256", String(64)),
    Column("model_sha256", String(64)),
    Column("model", Text),
    Column("inputs", Text),
    Column("iterations", Integer),
    Column("warmup", Integer),
    Column("flash_bytes", BigInteger),
    Column("ram_bytes", BigInteger),
    Column("flash_capacity", BigInteger),
    Column("ram_capacity", BigInteger),
    Column("valid", Boolean),
    Column("error", Text),
    ForeignKeyConstraint(["session_id"], ["tinyrig_sessions.id"], ondelete="CASCADE"),
)

metrics = Table(
    "tinyrig_metrics", metadata,
    Column("session_id", String(255), primary_key=True),
    Column("benchmark", String(64), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("value", Float, nullable=False),
    ForeignKeyConstraint(["session_id", "benchmark"], ["tinyrig_benchmarks.session_id", "tinyrig_benchmarks.benchmark"],
                         ondelete="CASCADE"),
)

samples = Table(
    "tinyrig_samples", metadata,
    Column("session_id", String(255), primary_key=True),
    Column("benchmark", String(64), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("idx", Integer),
    Column("label", Text),
    Column("latency_us", Float),
    Column("instructions", Float),
    Column("energy_j", Float),
    Column("bit_exact", Boolean),
    Column("figures", JSON),
    ForeignKeyConstraint(["session_id", "benchmark"], ["tinyrig_benchmarks.session_id", "tinyrig_benchmarks.benchmark"],
                         ondelete="CASCADE"),
)

# Children first: deleting a session deletes these explicitly, not through ON DELETE CASCADE,
# so a SQLite connection without foreign keys enabled cannot leave orphans.
_CHILDREN = (samples, metrics, benchmarks)


class ResultsDBError(Exception):
    """A results database that cannot be opened, read or written, or a session it lacks."""


class SessionNotRecordable(ResultsDBError):
    """The session folder, not the database, is the trouble: its results.json cannot be read, or the
    session has not finished. `tinyrig record` exits with the session status (6) for it, not 5."""


CHECK_HINT = "`tinyrig db check` says what is wrong with it"


# -- where --------------------------------------------------------------------------------------

def default_db_path() -> Path:
    return data_dir() / "results.sqlite"


def resolve_db_url(db: str | os.PathLike | None = None) -> str:
    """A SQLAlchemy URL from `--db`: a URL as is, a path as a SQLite file; else $TINYRIG_DB,
    else the SQLite file in tinyrig's data folder."""
    value = os.fspath(db) if db is not None else os.environ.get(DB_ENV) or None
    if value is None:
        value = os.fspath(default_db_path())
    if "://" in value:
        return _sqlite_uri_form(value) if value.startswith("sqlite") else value
    path = Path(value).expanduser().resolve()
    return f"sqlite:///{path}"


# SQLite's own URI parameters (https://sqlite.org/uri.html). They only take effect when the file
# is opened as a `file:` URI, so a URL carrying them is rewritten into that form; otherwise
# SQLAlchemy drops them (mode=ro silently writable) or the query ends up in the file name.
SQLITE_URI_PARAMS = ("mode", "cache", "immutable", "nolock", "psow", "vfs", "modeof")
# What SQLAlchemy's pysqlite dialect itself reads from the query.
SQLITE_DRIVER_PARAMS = ("timeout", "isolation_level", "detect_types", "check_same_thread", "cached_statements", "uri")


def _sqlite_uri_form(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # ResultsDB.open reports it
    query = dict(parsed.query)
    unknown = sorted(set(query) - set(SQLITE_URI_PARAMS) - set(SQLITE_DRIVER_PARAMS))
    if unknown:
        raise ResultsDBError(f"--db {url}: unknown SQLite URL option(s) {', '.join(unknown)} (allowed: "
                             f"{', '.join(SQLITE_URI_PARAMS)}, e.g. ?mode=ro for read-only)")
    if not parsed.database or parsed.database == ":memory:" or not set(query) & set(SQLITE_URI_PARAMS):
        return url
    database = parsed.database
    if database.startswith("file:"):
        database = database[len("file:"):]
    path = Path(database).expanduser().resolve()
    query["uri"] = "true"
    return parsed.set(database=f"file:{path}", query=query).render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other back ends and in-memory databases)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    database = parsed.database
    return Path(database[len("file:"):] if database.startswith("file:") else database)


def storable_db_url(db: str | os.PathLike | None) -> str:
    """The database a session records into, as written into its options for `--resume`:
    resolved now (a relative path or $TINYRIG_DB mean what they mean today) and without a
    password (libpq finds it again in PGPASSWORD or ~/.pgpass; results.json is often shared)."""
    url = resolve_db_url(db)
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if parsed.password is None:
        return url
    return parsed.set(password=None).render_as_string(hide_password=False)


def _display(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    file = sqlite_file(url)
    if file is not None and parsed.database.startswith("file:"):
        # The `file:` URI form is tinyrig's doing: show the path and the options as the user wrote them.
        options = "&".join(f"{k}={v}" for k, v in parsed.query.items() if k != "uri")
        return f"sqlite:///{file}" + (f"?{options}" if options else "")
    return parsed.render_as_string(hide_password=True)


# -- records ------------------------------------------------------------------------------------

@dataclass
class RecordResult:
    session_id: str
    db: str
    action: str  # "recorded", "replaced" or "unchanged"
    benchmarks: int = 0
    samples: int = 0


@dataclass
class SessionRecord:
    """A session as stored: its columns and its full results document (validated, at the current
    schema version whatever version it was recorded at)."""

    id: str
    path: str | None
    board: str | None
    target: str | None
    mode: str | None
    status: str | None
    created: datetime | None
    git_revision: str | None
    gate: str | None
    results: dict = field(repr=False, default_factory=dict)


@dataclass
class HistoryRow:
    session_id: str
    created: datetime | None
    board: str | None
    target: str | None
    mode: str | None
    session_status: str | None
    git_revision: str | None
    gate: str | None
    benchmark: str
    status: str | None
    flash_bytes: int | None
    ram_bytes: int | None
    valid: bool | None
    metrics: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session_id,
            "created": self.created.isoformat() if self.created else None,
            "board": self.board, "target": self.target, "mode": self.mode,
            "session_status": self.session_status, "git_revision": self.git_revision, "gate": self.gate,
            "benchmark": self.benchmark, "status": self.status,
            "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes, "valid": self.valid,
            "metrics": self.metrics,
        }


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _utc(value: datetime | None) -> datetime | None:
    """Times come back naive from SQLite and in the server's zone from PostgreSQL: make them UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def git_revision(cwd: Path | None = None) -> tuple[str | None, bool | None]:
    """(HEAD, has uncommitted changes) of the git checkout at cwd; (None, None) outside one."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None, None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=30)
        return head.stdout.strip() or None, (bool(dirty.stdout.strip()) if dirty.returncode == 0 else None)
    except (OSError, subprocess.TimeoutExpired):
        return None, None


def session_id_of(session_dir: Path) -> str:
    """A session's id is its folder name (`<UTC stamp>-<board>-<mode>[-n]`)."""
    return Path(session_dir).resolve().name


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null: PostgreSQL's JSON type rejects them (Python's json writes them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


# -- the database -------------------------------------------------------------------------------

def _fails_soft(what: str):
    """A database method whose SQLAlchemy errors (a corrupt file, a read-only one, a server gone)
    become one ResultsDBError line: the callers report it and carry on, nothing measured is lost."""

    def wrap(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except SQLAlchemyError as exc:
                raise self._error(what, exc) from None
            except (json.JSONDecodeError, TypeError) as exc:  # a results column that is not JSON
                raise ResultsDBError(f"{what} results database {self.display_url}: a stored results document "
                                     f"is unreadable ({exc}); {CHECK_HINT}") from None

        return guarded

    return wrap


class ResultsDB:
    def __init__(self, engine: Engine, url: str):
        self.engine = engine
        self.url = url

    @classmethod
    def open(cls, db: str | os.PathLike | None = None, *, must_exist: bool = False) -> "ResultsDB":
        """Opens (and on first use creates) the database. `must_exist` is for readers: they
        report a SQLite file that is not there instead of creating an empty one."""
        url = resolve_db_url(db)
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ResultsDBError(f"--db {db!r}: not a path nor a database URL ({exc})") from None
        kwargs: dict[str, Any] = {}
        file = sqlite_file(url)
        if file is not None:
            try:
                cls._check_file(file, must_exist)
            except OSError as exc:  # a name too long for the file system, a folder that cannot be made
                raise ResultsDBError(f"results database {file}: {exc.strerror or exc}") from None
            # Parallel runs record at the same time: wait for the writer rather than fail.
            kwargs["connect_args"] = {"timeout": 60}
        try:
            engine = create_engine(url, **kwargs)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            hint = " (pip install 'psycopg[binary]')" if parsed.get_backend_name() == "postgresql" else ""
            raise ResultsDBError(f"results database {_display(url)}: no driver for it{hint}: {exc}") from None
        except (ArgumentError, ValueError, TypeError) as exc:  # a URL option the driver cannot take
            raise ResultsDBError(f"results database {_display(url)}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        db_ = cls(engine, url)
        db_._ensure_schema()
        return db_

    @staticmethod
    def _check_file(file: Path, must_exist: bool) -> None:
        """A SQLite file to open: not a folder; there already, for readers; its folder made, for writers."""
        if file.is_dir():
            raise ResultsDBError(f"results database {file} is a folder; give a file path (e.g. {file}/results.sqlite)")
        if file.exists() and not file.is_file():  # SQLite would block on a pipe, or write into a device
            raise ResultsDBError(f"results database {file} is not a regular file; give a file path")
        if must_exist and not file.is_file():
            raise ResultsDBError(f"no results database at {file} (`tinyrig run` and `tinyrig record` "
                                 f"create it; or pass --db / set ${DB_ENV})")
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultsDBError(f"results database {file}: cannot create its folder {file.parent}: "
                                 f"{exc.strerror or exc}") from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "ResultsDB":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def display_url(self) -> str:
        return _display(self.url)

    def _ensure_schema(self) -> None:
        try:
            with self.engine.begin() as conn:
                metadata.create_all(conn)
                row = conn.execute(select(schema_info.c.value).where(schema_info.c.key == "schema_version")).first()
                if row is None:
                    conn.execute(schema_info.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                elif not row.value.isdigit():
                    raise ResultsDBError(f"results database {self.display_url} has schema version {row.value!r}, "
                                         f"not a number; {CHECK_HINT}")
                elif int(row.value) > SCHEMA_VERSION:
                    raise ResultsDBError(f"results database {self.display_url} has schema version {row.value}; "
                                         f"this tinyrig reads up to {SCHEMA_VERSION}: upgrade tinyrig")
        except SQLAlchemyError as exc:
            raise self._error("cannot open", exc) from None

    def _error(self, what: str, exc: SQLAlchemyError) -> ResultsDBError:
        """One line for a database failure: what was being done, the database, and its reason."""
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return ResultsDBError(f"{what} results database {self.display_url}: {reason}; {CHECK_HINT}")

    # -- writing --------------------------------------------------------------------------------

    def record(self, session_dir: Path, *, git_revision_: str | None = None, detect_git: bool = True,
               session_id: str | None = None) -> RecordResult:
        session_dir = Path(session_dir)
        try:
            results = read_results(session_dir)
        except ResultsFileError as exc:
            raise SessionNotRecordable(str(exc)) from None
        if results.status in UNFINISHED:
            raise SessionNotRecordable(f"{session_dir}: session is still {results.status!r} (or was killed before "
                                 "it finished); only finished sessions are recorded")
        sid = session_id or session_id_of(session_dir)
        rev, dirty = results.git_revision, results.git_dirty
        if rev is None and git_revision_ is not None:
            rev = git_revision_
        elif rev is None and detect_git:
            rev, dirty = git_revision()
        return self.record_results(sid, results, path=str(session_dir.resolve()), git=(rev, dirty))

    def record_results(self, sid: str, results: SessionResults | dict, *, path: str | None = None,
                       git: tuple[str | None, bool | None] = (None, None)) -> RecordResult:
        """Records a results document (typed, or JSON of any known schema version: validated first)."""
        try:
            results = parse_results(results, f"session {sid}")
        except ResultsFileError as exc:
            raise ResultsDBError(str(exc)) from None
        document = json.dumps(results.data(), sort_keys=True)
        digest = hashlib.sha256(document.encode()).hexdigest()
        try:
            with self.engine.begin() as conn:
                existing = conn.execute(select(sessions.c.results_sha256).where(sessions.c.id == sid)).first()
                if existing is not None and existing.results_sha256 == digest:
                    return RecordResult(sid, self.display_url, "unchanged")
                if existing is not None:
                    self._delete(conn, sid)
                n_bench, n_samples = self._insert(conn, sid, results, document, digest, path, git)
        except SQLAlchemyError as exc:
            raise ResultsDBError(f"recording session {sid} into {self.display_url} failed; nothing of it was "
                                 f"written: {getattr(exc, 'orig', None) or exc}") from None
        return RecordResult(sid, self.display_url, "replaced" if existing is not None else "recorded",
                            n_bench, n_samples)

    @staticmethod
    def _delete(conn: Connection, sid: str) -> None:
        for table in _CHILDREN:
            conn.execute(table.delete().where(table.c.session_id == sid))
        conn.execute(sessions.delete().where(sessions.c.id == sid))

    def _insert(self, conn: Connection, sid: str, results: SessionResults, document: str, digest: str,
                path: str | None, git: tuple[str | None, bool | None]) -> tuple[int, int]:
        conn.execute(sessions.insert().values(
            id=sid, path=path, board=results.board, target=results.target, mode=results.mode,
            status=results.status, created=_parse_time(results.created),
            finished=_parse_time(results.finished), tinyrig_version=results.tinyrig_version,
            compiler=results.compiler, icount_shift=results.icount_shift,
            git_revision=git[0], git_dirty=git[1], host=results.host or platform.node(),
            recorded_at=datetime.now(timezone.utc), gate=None, results_sha256=digest, results=document,
        ))
        bench_rows, metric_rows, sample_rows = [], [], []
        data = results.data()["benchmarks"]
        for bid, entry in results.benchmarks.items():
            fw = entry.firmware
            summary = entry.summary
            bench_rows.append(dict(
                session_id=sid, benchmark=bid, status=entry.status, emulated=entry.emulated,
                source_sha256=fw and fw.source_sha256, model_sha256=fw and fw.model_sha256,
                model=entry.model, inputs=entry.inputs, iterations=entry.iterations,
                warmup=entry.warmup, flash_bytes=fw and fw.flash_bytes,
                ram_bytes=fw and fw.ram_bytes, flash_capacity=fw and fw.flash_capacity,
                ram_capacity=fw and fw.ram_capacity, valid=getattr(summary, "valid", None),
                error=entry.error,
            ))
            # The figures are read from the validated data, as compare and the report read them.
            metric_rows += [dict(session_id=sid, benchmark=bid, name=name, value=value)
                            for name, value in figures.metrics(data[bid]).items()]
            counters: dict[str, int] = {}
            for s in figures.samples(data[bid]):
                position = counters.get(s.kind, 0)
                counters[s.kind] = position + 1
                sample_rows.append(dict(
                    session_id=sid, benchmark=bid, kind=s.kind, position=position, idx=s.index, label=s.label,
                    latency_us=s.latency_us, instructions=s.instructions, energy_j=s.energy_j,
                    bit_exact=s.bit_exact, figures=_json_safe(s.figures),
                ))
        # Parents before children, each as one executemany.
        for table, rows in ((benchmarks, bench_rows), (metrics, metric_rows), (samples, sample_rows)):
            if rows:
                conn.execute(table.insert(), rows)
        return len(bench_rows), len(sample_rows)

    @_fails_soft("storing the verdict in")
    def set_gate(self, sid: str, verdict: str) -> bool:
        """Records `tinyrig compare`'s verdict ("pass"/"fail") on a session; False if it is not here."""
        with self.engine.begin() as conn:
            return conn.execute(sessions.update().where(sessions.c.id == sid).values(gate=verdict)).rowcount > 0

    # -- reading --------------------------------------------------------------------------------

    def _record(self, row) -> SessionRecord:
        try:
            results = parse_results(json.loads(row.results), f"session {row.id} in {self.display_url}").data()
        except ResultsFileError as exc:
            raise ResultsDBError(str(exc)) from None
        except (json.JSONDecodeError, TypeError) as exc:
            raise ResultsDBError(f"session {row.id} in {self.display_url}: its stored results document is unreadable "
                                 f"({exc}); {CHECK_HINT}") from None
        return SessionRecord(id=row.id, path=row.path, board=row.board, target=row.target, mode=row.mode,
                             status=row.status, created=_utc(row.created), git_revision=row.git_revision,
                             gate=row.gate, results=results)

    @_fails_soft("reading")
    def get(self, sid: str) -> SessionRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.id == sid)).first()
            if row is None:
                hint = ""
                close = conn.execute(select(sessions.c.id).where(sessions.c.id.like(f"%{sid}%")).limit(5)).scalars().all()
                if close:
                    hint = f"; did you mean {', '.join(close)}?"
                raise ResultsDBError(f"no session {sid!r} in the results database {self.display_url}{hint}")
        return self._record(row)

    @_fails_soft("reading")
    def contains(self, sid: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(sessions.c.id).where(sessions.c.id == sid)).first() is not None

    @_fails_soft("reading")
    def latest(self, *, board: str | None = None, mode: str | None = None) -> SessionRecord:
        query = select(sessions).where(sessions.c.status.not_in(UNFINISHED))
        if board:
            query = query.where(sessions.c.board == board)
        if mode:
            query = query.where(sessions.c.mode == mode)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(sessions.c.created.desc(), sessions.c.id.desc()).limit(1)).first()
        if row is None:
            raise ResultsDBError(f"the results database {self.display_url} holds no finished session"
                                 + (f" on board {board}" if board else ""))
        return self._record(row)

    @_fails_soft("reading")
    def baselines(self, candidate: SessionRecord | dict, candidate_id: str, n: int) -> list[SessionRecord]:
        """The last n good sessions before the candidate on its board, target and mode: complete,
        and not failed by an earlier gate. Newest first."""
        results = candidate.results if isinstance(candidate, SessionRecord) else candidate
        created = _parse_time(results.get("created"))
        query = select(sessions).where(
            sessions.c.id != candidate_id,
            sessions.c.board == results.get("board"),
            sessions.c.target == results.get("target"),
            sessions.c.mode == results.get("mode"),
            sessions.c.status == "complete",
            (sessions.c.gate.is_(None)) | (sessions.c.gate != "fail"),
        )
        if created is not None:
            query = query.where(sessions.c.created <= created)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(sessions.c.created.desc(), sessions.c.id.desc()).limit(n)).all()
        return [self._record(r) for r in rows]

    @_fails_soft("reading")
    def history(self, *, board: str | None = None, benchmark: str | Iterable[str] | None = None,
                mode: str | None = None, target: str | None = None, since: datetime | None = None,
                until: datetime | None = None, limit: int | None = None) -> list[HistoryRow]:
        """One row per (session, benchmark), oldest first, with every metric of it."""
        query = (select(sessions.c.id, sessions.c.created, sessions.c.board, sessions.c.target, sessions.c.mode,
                        sessions.c.status.label("session_status"), sessions.c.git_revision, sessions.c.gate,
                        benchmarks.c.benchmark, benchmarks.c.status, benchmarks.c.flash_bytes,
                        benchmarks.c.ram_bytes, benchmarks.c.valid)
                 .join(benchmarks, benchmarks.c.session_id == sessions.c.id))
        if board:
            query = query.where(sessions.c.board == board)
        if mode:
            query = query.where(sessions.c.mode == mode)
        if target:
            query = query.where(sessions.c.target == target)
        if benchmark:
            names = [benchmark] if isinstance(benchmark, str) else list(benchmark)
            query = query.where(benchmarks.c.benchmark.in_(names))
        if since:
            query = query.where(sessions.c.created >= since.astimezone(timezone.utc))
        if until:
            query = query.where(sessions.c.created <= until.astimezone(timezone.utc))
        # Newest N, shown oldest first.
        query = query.order_by(sessions.c.created.desc(), sessions.c.id.desc(), benchmarks.c.benchmark.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = list(reversed(conn.execute(query).all()))
            wanted = {r.id for r in rows}
            found: dict[tuple[str, str], dict[str, float]] = {}
            # Metrics of the selected sessions, fetched in chunks (IN lists have dialect limits).
            ids = sorted(wanted)
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                for m in conn.execute(select(metrics).where(metrics.c.session_id.in_(chunk))):
                    found.setdefault((m.session_id, m.benchmark), {})[m.name] = m.value
        return [HistoryRow(r.id, _utc(r.created), r.board, r.target, r.mode, r.session_status, r.git_revision,
                           r.gate, r.benchmark, r.status, r.flash_bytes, r.ram_bytes, r.valid,
                           found.get((r.id, r.benchmark), {})) for r in rows]

    @_fails_soft("reading")
    def samples(self, sid: str, benchmark: str, kind: str = "window") -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(samples).where(samples.c.session_id == sid, samples.c.benchmark == benchmark,
                                                      samples.c.kind == kind).order_by(samples.c.position)).all()
        return [dict(r._mapping) for r in rows]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets `tinyrig history` read while a run records.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def record_session(session_dir: Path, db_url: str | os.PathLike | None = None, *,
                   git_revision: str | None = None, detect_git: bool = True) -> RecordResult:
    """Records a finished session folder into the results database (default: $TINYRIG_DB, else
    SQLite in tinyrig's data folder). One transaction; re-recording the same session is a no-op
    when unchanged and a replacement otherwise. The git revision is the session's own
    (`git_revision` in results.json) if it has one, else `git_revision`, else that of the
    checkout in the current directory (best effort)."""
    with ResultsDB.open(db_url) as db:
        return db.record(Path(session_dir), git_revision_=git_revision, detect_git=detect_git)
