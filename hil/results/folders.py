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

RESULTS_TXT = "results.txt"
LOG_FILE = "log.txt"


def benchmark_log_lines(session_dir: Path, benchmark_id: str) -> list[str]:
    """The session transcript's lines tagged with one benchmark (the log.txt of its result folder)."""
    path = Path(session_dir) / LOG_FILE
    if not path.is_file():
        return []
    tag = f"[{benchmark_id}] "
    out = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            # "<wall> <elapsed> [<tag>] <arrow> <text>": the tag follows the two time columns.
            parts = line.split(maxsplit=2)
            if len(parts) == 3 and parts[2].startswith(tag):
                out.append(line.rstrip("\n"))
    return out


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
