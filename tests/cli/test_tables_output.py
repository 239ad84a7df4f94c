"""Tables in CI logs: `tinyrig history | cat`, `tinyrig profile ... | cat` and `tinyrig report`
print every number whole at any width (text columns wrap instead), take the width from
$COLUMNS, and have TSV and Markdown forms; `report` takes recorded session ids."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tinyrig.cli.output import column_widths, to_markdown, to_tsv
from tinyrig.hil.results.tables import Column, TableData
from tinyrig_testing import require_tools
from tinyrig_testing.results_support import DATA

SESSIONS = sorted(DATA.glob("2026*"))
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?%?")


def tinyrig(*args: str, columns: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The console script with stdout a pipe, as in `tinyrig ... | cat`."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "tinyrig.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("db") / "results.sqlite")
    proc = tinyrig("record", "--db", path, "--no-git", *map(str, SESSIONS))
    assert proc.returncode == 0, proc.stderr
    return path


def _expected_history_cells(db: str) -> list[str]:
    rows = json.loads(tinyrig("history", "--db", db, "--json").stdout)["rows"]
    cells = []
    for row in rows:
        m = row["metrics"]
        cells += [row["session"], row["created"][:16].replace("T", " "), f"{row['flash_bytes']:,}",
                  f"{row['ram_bytes']:,}"]
        if "latency_us" in m:
            cells.append(f"{m['latency_us']:,.1f}")
        if "instructions" in m:
            cells.append(f"{m['instructions']:,.0f}")
        if "energy_per_inference_j" in m:
            cells.append(f"{m['energy_per_inference_j'] * 1e6:,.3f}")
    return cells


@pytest.mark.parametrize("columns", [None, 40, 200])
def test_history_piped_prints_every_number_whole(db, columns):
    proc = tinyrig("history", "--db", db, columns=columns)
    assert proc.returncode == 0, proc.stderr
    tokens = set(re.split(r"[\s│┃]+", proc.stdout))
    missing = [cell for cell in _expected_history_cells(db) if cell not in tokens
               and cell not in proc.stdout]  # the created time holds a space
    assert missing == [], proc.stdout
    assert "…" not in proc.stdout and "..." not in proc.stdout
    widths = {len(line) for line in proc.stdout.splitlines() if line.startswith(("┏", "│"))}
    assert len(widths) == 1  # one table, every row as wide
    if columns == 200:
        assert widths.pop() <= 200  # fits a wide terminal: no widening needed


def test_history_tsv_and_markdown(db):
    tsv = tinyrig("history", "--db", db, "--format", "tsv").stdout.splitlines()
    header = tsv[0].split("\t")
    assert header[:2] == ["created (UTC)", "session"] and len(tsv) == 1 + 5  # 5 (session, benchmark) rows
    assert all(len(line.split("\t")) == len(header) for line in tsv)
    by_name = [dict(zip(header, line.split("\t"))) for line in tsv[1:]]
    kws = next(r for r in by_name if r["benchmark"] == "kws01" and r["mode"] == "performance")
    assert kws["instructions"] == "39068058" and kws["latency (us)"] == "39068.3"  # plain numbers for tools
    markdown = tinyrig("history", "--db", db, "--format", "markdown").stdout
    assert "| 2026-11-23 08:58 | 20261123T085841Z-qemu-mps2-an386-performance |" in markdown
    assert "|---|---|" in markdown and "---:|" in markdown


def test_report_takes_session_ids(db, tmp_path):
    sid = SESSIONS[0].name
    by_id = tinyrig("report", sid, "--db", db)
    by_folder = tinyrig("report", str(SESSIONS[0]))
    assert by_id.returncode == 0 and by_id.stdout == by_folder.stdout and "39,068,058" in by_id.stdout
    several = tinyrig("report", *(s.name for s in SESSIONS), "--db", db, columns=100)
    assert "Results: one row per benchmark" in several.stdout and "473.881" in several.stdout
    page = tmp_path / "report.html"
    html = tinyrig("report", *(s.name for s in SESSIONS), "--db", db, "--html", str(page))
    assert html.returncode == 0, html.stderr
    assert 'class="verdict none"' in page.read_text() and "none of these sessions has one" in page.read_text()
    unknown = tinyrig("report", "20990101T000000Z-nowhere", "--db", db)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.strip().count("\n") == 0 and "20990101T000000Z-nowhere" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_text_wraps_before_numbers_are_cut():
    table = TableData("t", [Column("benchmark", whole=True), Column("instructions/inference", numeric=True),
                            Column("status")])
    table.add("kws01", "2,490,148", "failed: the emulator stopped answering after window 3 of 5")
    wide = column_widths(table, 200)
    assert wide == [9, 22, 58]
    assert column_widths(table, 40) == [9, 22, len("answering")]  # text wraps first, down to its longest word
    assert column_widths(table, 35) == [9, 17, 9]  # then number columns, whose headers wrap
    # Cannot fit: each column at its floor (the header wraps after its slash; the number stays
    # whole), and the table is printed wider than asked.
    assert column_widths(table, 5) == [9, len("instructions/"), 9]
    assert "| kws01 | 2,490,148 |" in to_markdown(table) and to_tsv(table).splitlines()[1].startswith("kws01\t2490148\t")


@pytest.mark.qemu
def test_profile_piped_prints_every_number_whole():
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    proc = tinyrig("profile", "--benchmark", "ad01", columns=60, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in proc.stdout.splitlines()
            if line.startswith("│")]
    layers = [r for r in rows if r[0].isdigit()]
    assert len(layers) == 10 and all(r[1] == "FULLY_CONNECTED" for r in layers)  # ad01: 10 dense layers
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", r[5]) for r in layers)
    (total,) = [r for r in rows if r[1] == "layers total"]
    # Nothing cut: the layers' instructions add up to the total printed under them.
    assert sum(int(r[5].replace(",", "")) for r in layers) == int(total[5].replace(",", ""))
    assert "…" not in proc.stdout
    # Estimated cycles per layer (columns 7-9: est. cycles, CPI, share), attributed like instructions.
    cycles = [int(r[7].replace(",", "")) for r in layers]
    assert sum(cycles) == int(total[7].replace(",", ""))
    for r, c in zip(layers, cycles):
        assert float(r[8]) == pytest.approx(c / int(r[5].replace(",", "")), abs=5e-4)
        assert 1.0 < float(r[8]) < 3.0  # an M4 kernel: loads and multiplies take 1-2 cycles
        assert float(r[9].rstrip("%")) == pytest.approx(100 * c / sum(cycles), abs=0.05)
