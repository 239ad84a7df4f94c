"""Estimated cycles wherever a figure is shown: the run table, the gate and history, on a session
recorded by `tinyrig run --benchmark ad01` under QEMU with the cycle model (data/cycles/)."""

from __future__ import annotations

import copy

from tinyrig_testing.results_support import CYCLES_SESSION, PERF_SESSION, load
from tinyrig.hil.results.compare import FAIL, PASS, SKIP, SessionRef, compare
from tinyrig.hil.results.db import ResultsDB, record_session
from tinyrig.hil.results.tables import emulation_note, history_table, performance_table


def ref(results: dict, name: str) -> SessionRef:
    return SessionRef(name, results, name)


def test_the_run_table_shows_cycles_beside_instructions():
    table = performance_table(load(CYCLES_SESSION))
    names = [c.name for c in table.columns]
    assert names[2:7] == ["instructions/inference", "instr/MAC", "est. cycles/inference", "est. cycles/MAC",
                          "est. latency (us @ 25 MHz)"]
    (row,) = table.rows
    # 450,963 estimated cycles at 25 MHz: 18,038.5 us, beside 240,119 instructions.
    assert [c.text for c in row[2:7]] == ["240,119", "0.91", "450,963", "1.707", "18,038.5"]
    assert "Est. cycles are the cycle model's" in emulation_note(load(CYCLES_SESSION))
    # A session without cycles keeps its old columns.
    assert "est. cycles/inference" not in [c.name for c in performance_table(load(PERF_SESSION)).columns]


def test_the_gate_compares_cycles_exactly():
    base = load(CYCLES_SESSION)
    same = compare([ref(base, "base")], ref(copy.deepcopy(base), "cand"))
    cycles = [c for c in same.checks if c.name == "cycles"]
    assert same.ok and [c.status for c in cycles] == [PASS]
    # One window one cycle slower with identical instructions: fails, and says the timing changed.
    slower = copy.deepcopy(base)
    slower["benchmarks"]["ad01"]["windows"][3]["estimated_cycles"] += 1
    result = compare([ref(base, "base")], ref(slower, "cand"))
    (failure,) = result.failures
    assert failure.name == "cycles" and "changed in 1/5 window(s)" in failure.message
    assert "instruction counts are identical, so the timing changed" in failure.message
    assert failure.details == ["window random-0-3: +1 (+0.00%: 450,963.33 -> 450,964.33)"]  # per inference of 3
    # A baseline recorded before the cycle model has none: skipped, not failed.
    old = copy.deepcopy(base)
    for w in old["benchmarks"]["ad01"]["windows"]:
        del w["estimated_cycles"]
    result = compare([ref(old, "old")], ref(base, "cand"))
    assert result.ok and [c.status for c in result.checks if c.name == "cycles"] == [SKIP]


def test_history_shows_cycles(tmp_path):
    record_session(CYCLES_SESSION, f"sqlite:///{tmp_path / 'r.db'}", git_revision="0123456789abcdef")
    with ResultsDB.open(f"sqlite:///{tmp_path / 'r.db'}") as db:
        rows = db.history()
    assert rows[0].metrics["estimated_cycles"] == 1352890 / 3  # median window: 3 inferences
    table = history_table(rows, "test")
    column = [c.name for c in table.columns].index("est. cycles")
    assert table.rows[0][column].text == "450,963"
