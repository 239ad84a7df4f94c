"""`tinyrig history`, `tinyrig record` and `tinyrig compare`: the results database and the
regression gate on the command line. Registered on the main group by tinyrig.cli.main."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from tinyrig.cli.exits import Exit
from tinyrig.cli.output import format_option, make_console, print_table
from tinyrig.hil.results.tables import BAD, OK, Cell, Column, TableData, history_table
from tinyrig.terminal import first_line, for_rich

console = make_console()
err_console = make_console(stderr=True)

DB_HELP = ("Results database: a SQLite file path or a SQLAlchemy URL such as postgresql+psycopg://user@host/db "
           "(default: $TINYRIG_DB, else results.sqlite in tinyrig's data folder).")


def _fail(message: str, code: int = Exit.USAGE) -> None:
    """One `error:` line (paths and stored text in it escaped for rich) and the exit status."""
    err_console.print(f"[bold red]error:[/] {for_rich(first_line(message) or message)}", soft_wrap=True)
    sys.exit(int(code))


def _open_db(db, *, must_exist: bool = True):
    from tinyrig.hil.results.db import ResultsDB, ResultsDBError

    try:
        return ResultsDB.open(db, must_exist=must_exist)
    except ResultsDBError as exc:
        _fail(str(exc), Exit.DATABASE)


def parse_when(text: str | None, *, end: bool = False) -> datetime | None:
    """An ISO date or time (UTC unless it says otherwise), or a span back from now: 7d, 12h, 30m.
    A bare date as an end bound means the end of that day."""
    if not text:
        return None
    rel = re.fullmatch(r"(\d+)\s*([dhm])", text.strip())
    if rel:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[rel.group(2)]
        return datetime.now(timezone.utc) - timedelta(**{unit: int(rel.group(1))})
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r}: use an ISO date or time (2026-11-23, 2026-11-23T08:00) or a span "
                                 "such as 7d, 12h") from None
    if end and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        value += timedelta(days=1) - timedelta(microseconds=1)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# -- record -------------------------------------------------------------------------------------

@click.command("record")
@click.argument("session_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--db", help=DB_HELP)
@click.option("--git-revision", help="The project revision these sessions ran (default: the session's own, "
                                     "else HEAD of the git checkout in the current folder).")
@click.option("--no-git", is_flag=True, help="Do not look up the current folder's git revision.")
def record_cmd(session_dirs, db, git_revision, no_git) -> None:
    """Record finished session folders into the results database (idempotent)."""
    from tinyrig.hil.results.db import ResultsDBError, SessionNotRecordable

    database = _open_db(db, must_exist=False)
    failed: list[ResultsDBError] = []
    with database:
        for directory in session_dirs:
            try:
                r = database.record(directory, git_revision_=git_revision, detect_git=not no_git)
            except ResultsDBError as exc:
                failed.append(exc)
                err_console.print(f"[bold red]error:[/] {for_rich(exc)}")
                continue
            console.print(f"{r.action:10} {for_rich(r.session_id)} ({r.benchmarks} benchmarks, {r.samples} samples) "
                          f"-> {for_rich(r.db)}")
    if failed:  # the database's status if it failed once; else every failure was a session folder's
        sessions_only = all(isinstance(exc, SessionNotRecordable) for exc in failed)
        sys.exit(int(Exit.SESSION if sessions_only else Exit.DATABASE))


# -- history ------------------------------------------------------------------------------------

@click.command("history")
@click.option("--db", help=DB_HELP)
@click.option("--board", help="Only this board.")
@click.option("--benchmark", "benchmark_spec", help="Only these benchmarks (an id or a comma list).")
@click.option("--mode", help="Only this mode (performance, accuracy, energy).")
@click.option("--target", help="Only this target (qemu, hardware, ...).")
@click.option("--since", help="From this date/time (ISO, UTC) or span back from now (7d, 12h).")
@click.option("--until", help="Up to this date/time (a bare date includes the whole day).")
@click.option("--limit", default=50, show_default=True, help="At most this many rows, the newest (0: all).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document with every metric of every row.")
@format_option()
def history_cmd(db, board, benchmark_spec, mode, target, since, until, limit, as_json, fmt) -> None:
    """Past results: one row per session and benchmark, oldest first."""
    since_t, until_t = parse_when(since), parse_when(until, end=True)
    benches = [b.strip() for b in benchmark_spec.split(",") if b.strip()] if benchmark_spec else None
    from tinyrig.hil.results.db import ResultsDBError

    with _open_db(db) as database:
        try:
            rows = database.history(board=board, benchmark=benches, mode=mode, target=target, since=since_t,
                                    until=until_t, limit=limit or None)
        except ResultsDBError as exc:
            _fail(str(exc), Exit.DATABASE)
        where = database.display_url
    if as_json:
        click.echo(json.dumps({"db": where, "rows": [r.to_json() for r in rows]}, indent=2))
        return
    if not rows:
        console.print(f"no results in {for_rich(where)} match")
        return
    print_table(history_table(rows, where), fmt, console)


# -- compare ------------------------------------------------------------------------------------

def _ref_from_folder(path: Path):
    from tinyrig.hil.results.compare import SessionRef
    from tinyrig.hil.results.db import session_id_of
    from tinyrig.hil.results.schema import ResultsFileError, read_results

    try:
        results = read_results(path)
    except ResultsFileError as exc:
        _fail(str(exc), Exit.SESSION)
    if results.status == "running":
        _fail(f"{path}: the session is still running (or was killed); compare finished sessions only", Exit.SESSION)
    return SessionRef(session_id_of(path), results, str(path))


def _ref_from_record(record, database):
    from tinyrig.hil.results.compare import SessionRef

    results = dict(record.results)
    if results.get("git_revision") is None:  # recorded with --git-revision, not in the document
        results["git_revision"] = record.git_revision
    return SessionRef(record.id, results, f"db:{database.display_url}")


class _Lazy:
    """The database, opened only if an argument or --last needs it."""

    def __init__(self, db):
        self.db, self.handle = db, None

    def get(self, purpose: str = "", code: int = Exit.DATABASE):
        from tinyrig.hil.results.db import ResultsDB, ResultsDBError

        if self.handle is None:
            try:
                self.handle = ResultsDB.open(self.db, must_exist=True)
            except ResultsDBError as exc:
                _fail(f"{purpose}{exc}", code)
        return self.handle


def _open_quietly(db):
    """The database for storing a verdict, if it exists; the gate's result never depends on it."""
    from tinyrig.hil.results.db import ResultsDB, ResultsDBError

    try:
        return ResultsDB.open(db, must_exist=True)
    except ResultsDBError as exc:
        err_console.print(f"[yellow]note:[/] verdict not stored: {for_rich(exc)}")
        return None


def _resolve(arg: str, lazy: _Lazy):
    from tinyrig.hil.results.db import ResultsDBError

    path = Path(arg)
    try:
        folder, results_file = path.is_dir(), path.name == "results.json" and path.is_file()
    except OSError:  # not a path this file system can hold: a session id, then
        folder = results_file = False
    if folder:
        return _ref_from_folder(path)
    if results_file:
        return _ref_from_folder(path.parent)
    what = f"{arg}: neither a session folder nor a recorded session: "
    database = lazy.get(what, Exit.USAGE)  # the argument is neither: a usage error
    try:
        return _ref_from_record(database.get(arg), database)
    except ResultsDBError as exc:
        _fail(f"{what}{exc}")


def _print_comparison(comparison) -> None:
    from tinyrig.hil.results.compare import ERROR, FAIL, PASS

    c = comparison
    console.print(f"candidate {for_rich(c.candidate.label())}  [dim]({for_rich(c.candidate.origin)})[/]")
    for b in c.baselines:
        console.print(f"baseline  {for_rich(b.label())}  [dim]({for_rich(b.origin)})[/]")
    for note in c.notes:
        console.print(f"[yellow]note:[/] {for_rich(note)}")
    table = TableData("tinyrig compare", [Column("benchmark", whole=True), Column("check", whole=True),
                                           Column("result", whole=True), Column("detail")])
    shown = {FAIL: Cell("FAIL", BAD), ERROR: Cell("ERROR", BAD), PASS: Cell("pass", OK)}
    for check in c.checks:
        table.add(check.benchmark, check.name, shown.get(check.status, Cell(check.status)), check.message)
    print_table(table, "table", console)
    for check in c.failures + c.errors:
        for line in check.details[:50]:
            console.print(f"  {for_rich(check.benchmark)} {check.name}: {for_rich(line)}")


@click.command("compare")
@click.argument("sessions", nargs=-1, metavar="[BASELINE] [CANDIDATE]")
@click.option("--last", "last_n", type=click.IntRange(min=1),
              help="Compare CANDIDATE (default: the newest recorded session) against the last N good sessions "
                   "on its board, target and mode in the database.")
@click.option("--board", help="With --last and no CANDIDATE: the newest session on this board.")
@click.option("--db", help=DB_HELP)
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML here.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--noise-k", default=3.0, show_default=True, help="Latency/energy tolerance in baseline MAD-sigmas.")
@click.option("--latency-rel", default=0.02, show_default=True, help="Latency tolerance floor, relative.")
@click.option("--energy-rel", default=0.02, show_default=True, help="Energy tolerance floor, relative.")
@click.option("--memory-rel", default=0.01, show_default=True, help="Flash/RAM growth allowed, relative ...")
@click.option("--memory-abs", default=256, show_default=True, help="... or in bytes, whichever is larger.")
@click.option("--accuracy-drop", default=0.0, show_default=True, help="Allowed top-1/AUC drop (0..1 scale).")
@click.option("--allow-fewer-instructions", is_flag=True, help="Let instruction-count decreases pass.")
@click.option("--instructions-tolerance", default=0.0, show_default=True,
              help="Per-inference instruction difference still counted as equal (exact: 0).")
@click.option("--require-baseline", is_flag=True, help="With --last: fail when there is no baseline yet.")
@click.option("--no-record-verdict", is_flag=True,
              help="Do not store pass/fail on the candidate in the database (a failed session is never "
                   "chosen as a later --last baseline).")
def compare_cmd(sessions, last_n, board, db, junit_path, markdown_path, noise_k, latency_rel, energy_rel, memory_rel,
                memory_abs, accuracy_drop, allow_fewer_instructions, instructions_tolerance, require_baseline,
                no_record_verdict) -> None:
    """Regression gate: compare CANDIDATE with BASELINE (session folders or recorded session ids),
    or with the last N good runs (--last N). Exits 1 on a regression."""
    from tinyrig.hil.results import ci as results_ci
    from tinyrig.hil.results.compare import ERROR, SKIP, Check, Comparison, Thresholds, compare

    from tinyrig.terminal import output_problem

    for option, path in (("--junit", junit_path), ("--markdown", markdown_path)):
        if path is not None and output_problem(path):
            _fail(f"{option} {path}: {output_problem(path)}; give a new file or a regular file to replace")
    lazy = _Lazy(db)
    if last_n:
        if len(sessions) > 1:
            _fail("with --last give at most one session (the candidate)")
        if sessions:
            candidate = _resolve(sessions[0], lazy)
        else:
            database = lazy.get()
            from tinyrig.hil.results.db import ResultsDBError

            try:
                candidate = _ref_from_record(database.latest(board=board), database)
            except ResultsDBError as exc:
                _fail(str(exc), Exit.DATABASE)
        from tinyrig.hil.results.db import ResultsDBError

        database = lazy.get()
        try:
            baselines = [_ref_from_record(r, database)
                         for r in database.baselines(candidate.results, candidate.id, last_n)]
        except ResultsDBError as exc:
            _fail(str(exc), Exit.DATABASE)
    elif len(sessions) == 2:
        baselines, candidate = [_resolve(sessions[0], lazy)], _resolve(sessions[1], lazy)
    else:
        _fail("give BASELINE and CANDIDATE, or --last N [CANDIDATE]")

    thresholds = Thresholds(noise_k=noise_k, latency_rel=latency_rel, energy_rel=energy_rel, memory_rel=memory_rel,
                            memory_abs=memory_abs, accuracy_drop=accuracy_drop,
                            allow_fewer_instructions=allow_fewer_instructions,
                            instructions_tolerance=instructions_tolerance)
    if not baselines:
        where = lazy.get().display_url
        message = (f"no earlier good session on board {candidate.board} ({candidate.results.get('target')}, "
                   f"{candidate.results.get('mode')}) in {where} to compare {candidate.id} with")
        comparison = Comparison([], candidate, thresholds,
                                [Check("-", "baseline", ERROR if require_baseline else SKIP, message)])
        status = 1 if require_baseline else 0
        err_console.print(f"[yellow]{'error' if status else 'note'}:[/] {for_rich(message)}")
    else:
        comparison = compare(baselines, candidate, thresholds)
        _print_comparison(comparison)
        status = 0 if comparison.ok else 1
    if junit_path:
        results_ci.write(junit_path, results_ci.junit_xml(comparison))
    if markdown_path:
        results_ci.write(markdown_path, results_ci.markdown(comparison))
    if baselines and not no_record_verdict and (lazy.handle is not None or db):
        database = lazy.handle or _open_quietly(db)
        if database is not None and _store_verdict(database, candidate.id, comparison.verdict):
            console.print(f"[dim]verdict {comparison.verdict} recorded on {for_rich(candidate.id)} in "
                          f"{for_rich(database.display_url)}[/]")
        if database is not None and database is not lazy.handle:
            database.close()
    if lazy.handle is not None:
        lazy.handle.close()
    if comparison.checks and status:
        bad = comparison.failures + comparison.errors
        err_console.print(f"[bold red]REGRESSION[/] ({len(bad)}): " + for_rich("; ".join(c.message for c in bad[:5]))
                          if bad else "[bold red]no baseline[/]")
    sys.exit(status)


def _store_verdict(database, sid: str, verdict: str) -> bool:
    """The verdict is a note on the database; the gate's result stands even when it cannot be stored
    (a read-only or damaged database)."""
    from tinyrig.hil.results.db import ResultsDBError

    try:
        return database.set_gate(sid, verdict)
    except ResultsDBError as exc:
        err_console.print(f"[yellow]note:[/] verdict not stored: {for_rich(exc)}")
        return False


def resolve_report_sessions(args: list[str], db) -> tuple[list, str | None]:
    """`tinyrig report`'s arguments as sessions, taken as `compare` takes them: a session folder,
    its results.json, or a session id recorded in the results database. Also returns the
    database to read verdicts and history from: `db`, else the default one if an id was found
    there, else None."""
    from tinyrig.hil.results.db import ResultsDBError
    from tinyrig.hil.results.html import ReportError, load_session, session_from_record

    lazy, out = _Lazy(db), []
    try:
        for arg in args:
            path = Path(arg)
            try:
                is_session = path.is_dir() or (path.name == "results.json" and path.is_file())
            except OSError:  # not a path this file system can hold: a session id, then
                is_session = False
            if is_session:
                try:
                    out.append(load_session(path if path.is_dir() else path.parent))
                except ReportError as exc:
                    _fail(str(exc), Exit.SESSION)
                continue
            what = f"{arg}: neither a session folder nor a recorded session: "
            database = lazy.get(what, Exit.USAGE)
            try:
                out.append(session_from_record(database.get(arg)))
            except ResultsDBError as exc:
                _fail(f"{what}{exc}")
    finally:
        if lazy.handle is not None:
            lazy.handle.close()
    return out, db or (lazy.handle.url if lazy.handle is not None else None)


def write_html_report(sessions: list, out: Path, db=None) -> Path:
    """The self-contained HTML report (see tinyrig.hil.results.html); kept here for the CLI."""
    from tinyrig.hil.results.html import write_html_report as write

    return write(sessions, out, db=db)
