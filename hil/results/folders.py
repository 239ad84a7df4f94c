"""One result folder per benchmark and mode inside the session folder, as the MLPerf Tiny runner
leaves its session: `<session>/<id>/<mode>/` with results.txt (txt.py) and log.txt (the
benchmark's lines of the session transcript); energy mode also keeps its per-window plots
(`energy_inf_NNN.png`, the name the submission checker expects) and traces there.

The folders are rewritten from results.json whenever the session finishes, so they always say
what results.json says.
"""

from __future__ import annotations

from pathlib import Path

from tinyrig.hil.results import txt
from tinyrig.hil.results.schema import SessionResults
from tinyrig.hil.results.session import LOG_FILE, benchmark_log_lines

RESULTS_TXT = "results.txt"


def result_dir(session_dir: Path, results: SessionResults, benchmark_id: str) -> Path:
    return Path(session_dir) / benchmark_id / results.mode


def write_result_folders(session_dir: Path, results: SessionResults) -> list[Path]:
    """Writes every benchmark's results.txt and log.txt; returns the folders written."""
    written = []
    for bid in results.benchmarks:
        text = txt.render(results, bid)
        if text is None:
            continue  # a plug-in mode: the runner has no layout for it
        folder = result_dir(session_dir, results, bid)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / RESULTS_TXT).write_text(text, encoding="ascii", errors="replace")
        lines = benchmark_log_lines(session_dir, bid)
        (folder / LOG_FILE).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
        written.append(folder)
    return written
