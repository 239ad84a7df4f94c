"""`tinyrig report SESSION... --html OUT`: one self-contained HTML file.

Everything is inline (CSS, plots as PNG data URIs, no script, no external URL), so the file can
be attached to a CI job, mailed or opened offline. It holds: the sessions, a summary table per
session, latency and instructions per benchmark over time (from the results database when one
is given, else across the given sessions), memory use, energy traces with their windows, and
accuracy confusion matrices, each where the sessions have the figures.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import tinyrig
from tinyrig.hil.results import figures as F
from tinyrig.hil.results import plots as plots

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f4f4f4}
td.l,th.l{text-align:left}.bad{color:#b00;font-weight:bold}.ok{color:#070}.dim{color:#777}
img{max-width:100%;height:auto;display:block;margin:.5em 0 1.5em}code{font-size:.9em}
"""


class ReportError(Exception):
    """A session that cannot go into a report."""


@dataclass
class LoadedSession:
    id: str
    directory: Path
    results: dict

    @property
    def created(self) -> datetime | None:
        try:
            value = datetime.fromisoformat(str(self.results.get("created")).replace("Z", "+00:00"))
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def load_session(directory: Path) -> LoadedSession:
    path = Path(directory) / "results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{directory}: not a tinyrig session (no results.json)") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: unreadable results file: {exc}") from None
    return LoadedSession(Path(directory).resolve().name, Path(directory), results)


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _n(value, spec: str, scale: float | None = None) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "-"
    # Unscaled integers stay integers: byte and MAC counts print without a trailing ".0".
    return format(value if scale is None else value * scale, spec)


def _table(head: list[str], rows: list[list[str]], left: int = 1) -> str:
    """Cells are HTML already (escaped by the caller); the first `left` columns align left."""
    th = "".join(f'<th class="{"l" if i < left else ""}">{_e(h)}</th>' for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _img(uri: str | None, alt: str) -> str:
    return f'<img src="{uri}" alt="{_e(alt)}">' if uri else ""


# -- sections ------------------------------------------------------------------------------------

def _sessions_table(sessions: list[LoadedSession]) -> str:
    rows = []
    for s in sessions:
        r = s.results
        status = r.get("status")
        rows.append([_e(s.id), _e(r.get("board")), _e(r.get("target")), _e(r.get("mode")),
                     f'<span class="{"ok" if status == "complete" else "bad"}">{_e(status)}</span>',
                     _e(r.get("created")), _e((r.get("git_revision") or "-")[:12]), _e(r.get("tinyrig_version")),
                     _e(r.get("compiler"))])
    return _table(["session", "board", "target", "mode", "status", "created", "git", "tinyrig", "compiler"], rows,
                  left=9)


def _summary_table(s: LoadedSession) -> str:
    rows = []
    for bid, entry in (s.results.get("benchmarks") or {}).items():
        summary, fw = entry.get("summary") or {}, entry.get("firmware") or {}
        exact = F.bit_exact(entry)
        acc = F.accuracy(entry)
        energy = F.energy_per_inference(entry)
        match = summary.get("scores_match_reference")
        status = entry.get("status")
        status_cell = (f'<span class="ok">{_e(status)}</span>' if status == "complete"
                       else f'<span class="bad">{_e(status)}</span> {_e(entry.get("error", ""))}')
        rows.append([
            _e(bid), _n(F.median_latency_us(entry), ",.1f"), _n(summary.get("median_instructions"), ",.0f"),
            _n(summary.get("instructions_per_mac"), ".2f"), _n(fw.get("total_macs"), ","),
            _n(fw.get("flash_bytes"), ","), _n(fw.get("ram_bytes"), ","),
            "-" if match is None else ('yes' if match else '<span class="bad">NO</span>'),
            " ".join(f"{n}/{t} {src}" for src, (n, t) in exact.items()) or "-",
            _n(acc.get("top1"), ".2%"), _n(acc.get("auc"), ".4f"),
            _n(F.median(energy), ",.3f", 1e6) if energy else "-",
            {True: "yes", False: "no"}.get(summary.get("valid"), "-"), status_cell,
        ])
    emulated = s.results.get("target") in ("qemu", "renode")
    head = ["benchmark", "latency (virtual us)" if emulated else "latency (us)", "instructions/inference", "instr/MAC",
            "MACs", "flash (B)", "RAM (B)", "scores = reference", "bit-exact", "top-1", "AUC", "energy/inference (uJ)",
            "valid", "status"]
    note = ('<p class="dim">Emulated: latency is virtual time under QEMU -icount; instructions are exact counts of '
            "executed instructions, not cycles.</p>" if emulated else "")
    return _table(head, rows) + note


def _history_points(sessions: list[LoadedSession], db) -> dict[str, list[plots.Point]]:
    """Per benchmark: the database's history on the report's boards when a database is given,
    and always the report's own sessions (with their per-window spread)."""
    points: dict[str, dict[str, plots.Point]] = {}
    own = {s.id for s in sessions}
    if db is not None:
        from tinyrig.hil.results.db import ResultsDB

        database = db if isinstance(db, ResultsDB) else ResultsDB.open(db)
        try:
            boards = {s.results.get("board") for s in sessions}
            benches = {b for s in sessions for b in (s.results.get("benchmarks") or {})}
            for board in boards:
                for row in database.history(board=board, benchmark=sorted(benches)):
                    if row.created is None or row.status != "complete":
                        continue
                    points.setdefault(row.benchmark, {})[row.session_id] = plots.Point(
                        row.created, row.session_id, f"{row.board} ({row.target}, {row.mode})",
                        row.metrics.get("latency_us"), row.metrics.get("instructions"),
                        [], row.session_id in own)
        finally:
            if database is not db:
                database.close()
    for s in sessions:
        for bid, entry in (s.results.get("benchmarks") or {}).items():
            if entry.get("status") != "complete" or s.created is None:
                continue
            r = s.results
            points.setdefault(bid, {})[s.id] = plots.Point(
                s.created, s.id, f"{r.get('board')} ({r.get('target')}, {r.get('mode')})", F.median_latency_us(entry),
                (entry.get("summary") or {}).get("median_instructions"), F.latencies_us(entry), True)
    return {bid: list(p.values()) for bid, p in points.items()}


def _trace_files(s: LoadedSession, bid: str, entry: dict) -> tuple[list[Path], list[Path]]:
    """(present, missing) trace CSVs: those the entry names (relative to the session folder
    unless absolute), else any tinyrig power-trace CSV in the folder that names the benchmark."""
    named = [Path(p) if os.path.isabs(p) else s.directory / p for p in F.energy_trace_paths(entry)]
    if named:
        return [p for p in named if p.is_file()], [p for p in named if not p.is_file()]
    out = []
    for path in sorted(s.directory.glob(f"*{bid}*.csv")):
        with path.open(encoding="utf-8", errors="replace") as handle:
            if handle.readline().startswith("# tinyrig power trace"):
                out.append(path)
    return out, []


def _energy_section(sessions: list[LoadedSession], max_traces: int) -> str:
    from tinyrig.hil.instruments.trace import PowerTrace

    parts = []
    for s in sessions:
        for bid, entry in (s.results.get("benchmarks") or {}).items():
            present, missing = _trace_files(s, bid, entry)
            if missing:
                parts.append(f'<p class="dim">{_e(bid)} ({_e(s.id)}): {len(missing)} trace file(s) named in results.json '
                             f'are not in {_e(s.directory)}: {_e(", ".join(p.name for p in missing))}</p>')
            for path in present[:max_traces]:
                try:
                    trace = PowerTrace.from_csv(path)
                except (OSError, ValueError, KeyError, IndexError) as exc:
                    parts.append(f'<p class="bad">{_e(path)}: unreadable power trace: {_e(exc)}</p>')
                    continue
                parts.append(_img(plots.energy_trace(f"{bid}, {s.id}: {path.name}", trace), f"energy trace {bid}"))
    return "".join(parts)


def _accuracy_section(sessions: list[LoadedSession]) -> str:
    parts = []
    for s in sessions:
        for bid, entry in (s.results.get("benchmarks") or {}).items():
            conf = F.confusion_matrix(entry)
            acc = F.accuracy(entry)
            if conf is None and not acc:
                continue
            figures = ", ".join(f"{k} {v:.2%}" if k == "top1" else f"{k} {v:.4f}" for k, v in acc.items())
            parts.append(f"<h3>{_e(bid)} ({_e(s.id)})</h3><p>{_e(figures)}</p>")
            if conf is not None:
                parts.append(_img(plots.confusion(f"{bid}: confusion matrix", conf), f"confusion matrix {bid}"))
    return "".join(parts)


def render(sessions: list[LoadedSession], db=None, *, max_traces: int = 6) -> str:
    if not sessions:
        raise ReportError("a report needs at least one session")
    sessions = sorted(sessions, key=lambda s: (s.created or datetime.min.replace(tzinfo=timezone.utc), s.id))
    body = [f"<h1>tinyrig report</h1><p class=\"dim\">{len(sessions)} session(s); generated "
            f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} by tinyrig {_e(tinyrig.__version__)}</p>",
            "<h2>Sessions</h2>", _sessions_table(sessions), "<h2>Summary</h2>"]
    for s in sessions:
        body += [f"<h3>{_e(s.id)}: {_e(s.results.get('board'))} ({_e(s.results.get('target'))}, "
                 f"{_e(s.results.get('mode'))})</h3>", _summary_table(s)]
    history = _history_points(sessions, db)
    if history:
        source = "the results database and the sessions above" if db is not None else "the sessions above"
        body.append(f"<h2>Latency and instructions over time</h2><p class=\"dim\">From {source}; grey dots are the "
                    "windows of this report's sessions.</p>")
        for bid in sorted(history):
            body.append(_img(plots.over_time(bid, history[bid]), f"{bid} over time"))
    memory = [plots.memory(f"Memory use: {s.id}", s.results.get("benchmarks") or {}) for s in sessions]
    if any(memory):
        body.append("<h2>Memory use</h2>")
        body += [_img(uri, "memory use") for uri in memory if uri]
    energy = _energy_section(sessions, max_traces)
    if energy:
        body += ["<h2>Energy traces</h2><p class=\"dim\">Shaded: the windows between falling edges of the "
                 "timestamp pin, with the energy of each.</p>", energy]
    accuracy = _accuracy_section(sessions)
    if accuracy:
        body += ["<h2>Accuracy</h2>", accuracy]
    title = "tinyrig report: " + ", ".join(sorted({str(s.results.get("board")) for s in sessions}))
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")


def write_html_report(session_dirs: list[Path], out: Path, db=None) -> Path:
    """Writes the report of these session folders to `out` and returns its path. `db` (a path,
    a URL or an open ResultsDB) adds the history of the sessions' boards to the over-time plots.
    Raises ReportError naming a folder that is not a session."""
    sessions = [load_session(Path(d)) for d in session_dirs]
    text = render(sessions, db)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out
