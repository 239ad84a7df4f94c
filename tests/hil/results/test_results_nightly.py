"""The nightly flow end to end, on SQLite and on a real PostgreSQL server: real `tinyrig run`
sessions under QEMU are recorded and gated with `tinyrig compare --last 1`; a slowdown between
two nights fails the gate naming the benchmark and the size of the change, and the failed night
is never the baseline of the next one.

The slowed-down night is SYNTHETIC: emulated instruction counts of the same firmware are the
same on every honest run, so it is a copy of a real night with ad01 made 5 % slower, labelled
`synthetic` inside its results.json and in its folder name."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import click
import pytest
from click.testing import CliRunner

from tinyrig_testing.results_support import db_url, load, real_runs, synthetic_slowdown, write_session
from tinyrig.cli.results import compare_cmd, history_cmd, record_cmd

pytestmark = pytest.mark.qemu
cli = click.Group(commands=[compare_cmd, history_cmd, record_cmd])


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_nightly_slowdown_fails_the_gate(kind, tmp_path):
    night1, night2, night3 = real_runs(3)
    db = db_url(kind, tmp_path)
    slow = write_session(tmp_path, night2.name + "-synthetic-slowdown",
                         synthetic_slowdown(load(night2), "ad01", 1.05,
                                            note="test: a copy of a real night with ad01 made 5% slower"),
                         copy_from=night2)
    assert load(slow)["created"] == load(night2)["created"] < load(night3)["created"]

    # Nights 1 and 2: recorded, and night 2 passes against night 1 (real runs, identical counts).
    assert invoke("record", night1, night2, "--db", db, "--no-git").exit_code == 0
    good = invoke("compare", "--last", "1", night2, "--db", db)
    assert good.exit_code == 0, good.output
    assert f"baseline  {night1.name}" in good.output

    # The slow night fails, naming the benchmark and the size of the change.
    assert invoke("record", slow, "--db", db, "--no-git").exit_code == 0
    junit, md = tmp_path / "junit.xml", tmp_path / "summary.md"
    bad = invoke("compare", "--last", "1", slow, "--db", db, "--junit", junit, "--markdown", md)
    assert bad.exit_code == 1, bad.output
    assert f"baseline  {night2.name}" in bad.output
    message = " ".join(bad.output.split())
    assert "REGRESSION" in message and "ad01: instructions per inference changed in 5/5 window(s)" in message
    assert "(+5.00%:" in message and "ad01: latency regressed by" in message
    failures = [c for c in ET.parse(junit).getroot().iter("testcase") if c.find("failure") is not None]
    assert {(c.get("classname"), c.get("name")) for c in failures} == {("tinyrig.qemu-mps2-an386.ad01", "instructions"),
                                                                       ("tinyrig.qemu-mps2-an386.ad01", "latency")}
    assert md.read_text().startswith("## tinyrig compare: FAIL: 2 regression(s)")

    # Night 3 (a real run) is gated against night 2, the last good one, not the failed night.
    assert invoke("record", night3, "--db", db, "--no-git").exit_code == 0
    latest = invoke("compare", "--last", "1", "--db", db)  # no candidate: the newest recorded session
    assert latest.exit_code == 0, latest.output
    assert f"candidate {night3.name}" in latest.output and f"baseline  {night2.name}" in latest.output

    rows = json.loads(invoke("history", "--db", db, "--json", "--benchmark", "ad01").output)["rows"]
    assert [(r["session"], r["gate"]) for r in rows] == [(night1.name, None), (night2.name, "pass"),
                                                         (slow.name, "fail"), (night3.name, "pass")]
    assert rows[2]["metrics"]["instructions"] == round(rows[1]["metrics"]["instructions"] * 1.05)
