"""`tinyrig report SESSION... --html OUT`: one self-contained HTML file.

The page is templates/report/report.html.j2 (Jinja2, autoescaped); this module gathers what it
shows. Everything is inline (CSS, plots as PNG data URIs, no script, no external URL), so the
file can be attached to a CI job, mailed or opened offline. From the top: the regression gate's
verdict (stored in the results database by `tinyrig compare`), the one-row-per-benchmark results
table, the sessions and their own tables, figures over time (from the results database when one
is given, else across the given sessions), memory use, one representative energy trace per
benchmark (the others folded away), and accuracy with confusion matrices.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import jinja2

import tinyrig
from tinyrig import templates
from tinyrig.benchmarks import BENCHMARKS
from tinyrig.hil.results import figures as F
from tinyrig.hil.results import plots
from tinyrig.hil.results.schema import ResultsFileError, read_results
from tinyrig.hil.results import tables as T

# Energy windows drawn per benchmark and session: the representative one plus the rest on demand.
MAX_TRACES = 10


class ReportError(Exception):
    """A session that cannot go into a report."""


@dataclass
class LoadedSession:
    id: str
    directory: Path | None  # None: known only from the results database (no trace files)
    results: dict
    gate: str | None = None  # `tinyrig compare`'s stored verdict: "pass", "fail" or None

    @property
    def created(self) -> datetime | None:
        try:
            value = datetime.fromisoformat(str(self.results.get("created")).replace("Z", "+00:00"))
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    @property
    def series(self) -> str:
        r = self.results
        return f"{r.get('board')} ({r.get('target')}, {r.get('mode')})"


def load_session(directory: Path) -> LoadedSession:
    """A session folder's results, validated (and migrated) by the results schema, as plain data."""
    try:
        results = read_results(directory).data()
    except ResultsFileError as exc:
        raise ReportError(str(exc)) from None
    return LoadedSession(Path(directory).resolve().name, Path(directory), results)


def session_from_record(record) -> LoadedSession:
    """A session known from the results database (tinyrig.hil.results.db.SessionRecord); its
    folder is used for trace files when it still exists."""
    folder = Path(record.path) if record.path and Path(record.path).is_dir() else None
    results = dict(record.results)
    results.setdefault("git_revision", record.git_revision)
    return LoadedSession(record.id, folder, results, record.gate)


# -- the verdict ----------------------------------------------------------------------------------

@dataclass
class Verdict:
    status: str  # "pass", "fail" or "none"
    headline: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # benchmarks that did not complete


def verdict(sessions: list[LoadedSession], have_db: bool) -> Verdict:
    judged = {s.id: s.gate for s in sessions if s.gate in ("pass", "fail")}
    failed = [sid for sid, gate in judged.items() if gate == "fail"]
    unjudged = [s.id for s in sessions if s.id not in judged]
    if failed:
        result = Verdict("fail", f"Regression gate: FAIL ({len(failed)} of {len(sessions)} session(s))")
    elif judged:
        result = Verdict("pass", f"Regression gate: PASS ({len(judged)} of {len(sessions)} session(s) judged)")
    else:
        where = ("none of these sessions has one in the results database" if have_db
                 else "the report was made without --db, where `tinyrig compare` stores it")
        return Verdict("none", f"Regression gate: no verdict ({where})",
                       problems=_problems(sessions))
    result.lines = [f"{sid}: {gate}" for sid, gate in judged.items()]
    result.lines += [f"{sid}: not judged (run `tinyrig compare` on it)" for sid in unjudged]
    result.problems = _problems(sessions)
    return result


def _problems(sessions: list[LoadedSession]) -> list[str]:
    out = []
    for s in sessions:
        for bid, entry in (s.results.get("benchmarks") or {}).items():
            if entry.get("status") != "complete":
                out.append(f"{bid} in {s.id}: {T.status_cell(entry).text}")
    return out


# -- figures over time ----------------------------------------------------------------------------

def _history_points(sessions: list[LoadedSession], db) -> dict[str, list[plots.Point]]:
    """Per benchmark: the database's history on the report's boards when a database is given,
    and always the report's own sessions (with their per-window spread)."""
    points: dict[str, dict[str, plots.Point]] = {}
    own = {s.id for s in sessions}
    if db is not None:
        with _database(db) as database:
            boards = {s.results.get("board") for s in sessions}
            benches = {b for s in sessions for b in (s.results.get("benchmarks") or {})}
            for board in boards:
                for row in database.history(board=board, benchmark=sorted(benches)):
                    if row.created is None or row.status != "complete":
                        continue
                    energy = row.metrics.get("energy_per_inference_j")
                    points.setdefault(row.benchmark, {})[row.session_id] = plots.Point(
                        row.created, row.session_id, f"{row.board} ({row.target}, {row.mode})",
                        row.metrics.get("latency_us"), row.metrics.get("instructions"), [], row.session_id in own,
                        plots.latency_kind(row.target, row.mode), energy * 1e6 if energy is not None else None)
    for s in sessions:
        for bid, entry in (s.results.get("benchmarks") or {}).items():
            if entry.get("status") != "complete" or s.created is None:
                continue
            r = s.results
            energy = F.energy_per_inference(entry)
            points.setdefault(bid, {})[s.id] = plots.Point(
                s.created, s.id, s.series, F.median_latency_us(entry),
                (entry.get("summary") or {}).get("median_instructions"), F.latencies_us(entry), True,
                plots.latency_kind(r.get("target"), r.get("mode")),
                statistics.median(energy) * 1e6 if energy else None)
    return {bid: list(p.values()) for bid, p in points.items()}


class _database:
    """An open ResultsDB for a `with` block: the one given, or one opened (and closed) here."""

    def __init__(self, db):
        from tinyrig.hil.results.db import ResultsDB

        self.given = db if isinstance(db, ResultsDB) else None
        self.handle = self.given or ResultsDB.open(db, must_exist=True)

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc) -> None:
        if self.given is None:
            self.handle.close()


def _gates(sessions: list[LoadedSession], db) -> None:
    """Fills each session's stored gate verdict from the database."""
    with _database(db) as database:
        for s in sessions:
            if s.gate is None and database.contains(s.id):
                s.gate = database.get(s.id).gate


# -- energy ---------------------------------------------------------------------------------------

@dataclass
class Figure:
    uri: str
    alt: str
    caption: str = ""


@dataclass
class EnergyBlock:
    benchmark: str
    session: str
    shown: Figure | None = None
    more: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _trace_files(s: LoadedSession, bid: str, entry: dict) -> tuple[list[Path], list[Path]]:
    """(present, missing) trace CSVs: those the entry names (relative to the session folder
    unless absolute), else any tinyrig power-trace CSV in the folder that names the benchmark."""
    if s.directory is None:
        return [], [Path(p) for p in F.energy_trace_paths(entry)]
    named = [Path(p) if os.path.isabs(p) else s.directory / p for p in F.energy_trace_paths(entry)]
    if named:
        return [p for p in named if p.is_file()], [p for p in named if not p.is_file()]
    out = []
    for path in sorted(s.directory.glob(f"*{bid}*.csv")):
        with path.open(encoding="utf-8", errors="replace") as handle:
            if handle.readline().startswith("# tinyrig power trace"):
                out.append(path)
    return out, []


def _window_of(entry: dict, path: Path) -> dict:
    for w in (entry.get("energy") or {}).get("windows") or []:
        if isinstance(w, dict) and Path(str(w.get("trace_csv", ""))).name == path.name:
            return w
    return {}


def _representative_first(entry: dict, paths: list[Path]) -> list[Path]:
    """The window with the median energy per inference (the figure the table reports) first,
    then the others in window order."""
    energies = {p: F.window_energy_per_inference(_window_of(entry, p), entry.get("iterations")) for p in paths}
    known = sorted((e, i) for i, (p, e) in enumerate(energies.items()) if e is not None)
    if not known:
        return paths
    middle = paths[known[(len(known) - 1) // 2][1]]
    return [middle] + [p for p in paths if p != middle]


def _energy_blocks(sessions: list[LoadedSession]) -> list[EnergyBlock]:
    from tinyrig.hil.instruments.trace import PowerTrace

    blocks = []
    for s in sessions:
        for bid, entry in (s.results.get("benchmarks") or {}).items():
            present, missing = _trace_files(s, bid, entry)
            if not present and not missing:
                continue
            block = EnergyBlock(bid, s.id)
            if missing:
                block.notes.append(f"{len(missing)} trace file(s) named in results.json are not in "
                                   f"{s.directory or 'a session folder (known from the database only)'}: "
                                   f"{', '.join(p.name for p in missing)}")
            ordered = _representative_first(entry, present)
            if len(ordered) > MAX_TRACES:
                block.notes.append(f"{len(ordered) - MAX_TRACES} more window(s) not drawn (at most {MAX_TRACES})")
            for path in ordered[:MAX_TRACES]:
                try:
                    trace = PowerTrace.from_csv(path)
                except (OSError, ValueError, KeyError, IndexError) as exc:
                    block.errors.append(f"{path}: unreadable power trace: {exc}")
                    continue
                window = _window_of(entry, path)
                iterations = window.get("iterations") if isinstance(window.get("iterations"), int) else None
                title = (f"{bid} window {window['index']} ({path.name})" if isinstance(window.get("index"), int)
                         else f"{bid} ({path.name})")
                figure = Figure(plots.energy_trace(title, trace, iterations), f"energy trace {bid}", title)
                if block.shown is None:
                    block.shown = figure
                else:
                    block.more.append(figure)
            blocks.append(block)
    return blocks


# -- accuracy -------------------------------------------------------------------------------------

@dataclass
class AccuracyBlock:
    benchmark: str
    session: str
    figures: str
    note: str | None
    confusion: Figure | None


def _accuracy_blocks(sessions: list[LoadedSession]) -> list[AccuracyBlock]:
    blocks = []
    for s in sessions:
        for bid, entry in (s.results.get("benchmarks") or {}).items():
            benchmark = BENCHMARKS.get(bid)
            conf = F.confusion_matrix(entry, benchmark.class_names if benchmark else ())
            acc = F.accuracy(entry)
            note = F.auc_note(entry, bid)
            if conf is None and not acc and not note:
                continue
            figures = ", ".join(f"top-1 {v:.2%}" if k == "top1" else f"AUC {v:.4f}" for k, v in acc.items())
            image = None
            if conf is not None:
                image = Figure(plots.confusion(f"{bid}: confusion matrix", conf), f"confusion matrix {bid}")
            blocks.append(AccuracyBlock(bid, s.id, figures, note, image))
    return blocks


# -- the page -------------------------------------------------------------------------------------

def _environment() -> jinja2.Environment:
    folder = Path(templates.__file__).resolve().parent / "report"
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _memory_figures(sessions: list[LoadedSession]) -> list[Figure]:
    """One chart per distinct set of firmware: an accuracy session reuses the performance
    session's firmware, and the same bars twice say nothing."""
    seen, out = set(), []
    for s in sessions:
        entries = s.results.get("benchmarks") or {}
        key = tuple(sorted((bid, (e.get("firmware") or {}).get("source_sha256") or s.id) for bid, e in entries.items()))
        if key in seen:
            continue
        seen.add(key)
        uri = plots.memory(f"Memory use: {s.id}", entries)
        if uri:
            out.append(Figure(uri, "memory use"))
    return out


def render(sessions: list[LoadedSession], db=None) -> str:
    if not sessions:
        raise ReportError("a report needs at least one session")
    sessions = sorted(sessions, key=lambda s: (s.created or datetime.min.replace(tzinfo=timezone.utc), s.id))
    if db is not None:
        _gates(sessions, db)
    history = _history_points(sessions, db)
    per_session = []
    for s in sessions:
        try:
            table = T.summary_table(s.results)
        except ValueError as exc:
            raise ReportError(f"{s.id}: {exc}") from None
        if T.is_emulated(s.results) and s.results.get("mode") != "accuracy":
            table.notes.append(T.emulation_note(s.results))
        per_session.append((s, table))
    page = _environment().get_template("report.html.j2").render(
        title="tinyrig report: " + ", ".join(sorted({str(s.results.get("board")) for s in sessions})),
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        version=tinyrig.__version__,
        sessions=sessions,
        verdict=verdict(sessions, db is not None),
        results=T.results_table([s.results for s in sessions]),
        sessions_table=T.sessions_table([(s.id, s.results, s.gate) for s in sessions]),
        per_session=per_session,
        history_source="the results database and the sessions above" if db is not None else "the sessions above",
        history=[Figure(plots.over_time(bid, history[bid]), f"{bid} over time") for bid in sorted(history)],
        memory=_memory_figures(sessions),
        energy=_energy_blocks(sessions),
        accuracy=_accuracy_blocks(sessions),
    )
    return page


def write_html_report(sources: list, out: Path, db=None) -> Path:
    """Writes the report of these sessions (folders, or LoadedSession objects) to `out` and
    returns its path. `db` (a path, a URL or an open ResultsDB) adds the gate's verdicts and the
    history of the sessions' boards. Raises ReportError naming a folder that is not a session."""
    sessions = [s if isinstance(s, LoadedSession) else load_session(Path(s)) for s in sources]
    text = render(sessions, db)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out
