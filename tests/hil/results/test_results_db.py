"""The results database on SQLite and on a real PostgreSQL server: recording, idempotent
re-recording, all-or-nothing writes (also when the recording process is killed), history
queries, baseline selection, and the `record` / `history` commands."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tinyrig_testing.results_support import ACCURACY_SESSION, ENERGY_SESSION, PERF_SESSION, db_url, load, write_session
from tinyrig.cli.results import history_cmd, parse_when, record_cmd
from tinyrig.hil.results import db as rdb
from tinyrig.hil.results.db import ResultsDB, ResultsDBError, record_session, resolve_db_url
from tinyrig.hil.results.schema import SCHEMA_VERSION, results_data

KINDS = ["sqlite", "postgres"]
cli = click.Group(commands=[history_cmd, record_cmd])


def row_counts(db: ResultsDB) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (rdb.sessions, rdb.benchmarks, rdb.metrics, rdb.samples)}


@pytest.fixture(params=KINDS)
def url(request, tmp_path):
    return db_url(request.param, tmp_path)


def test_record_keeps_every_figure(url):
    result = record_session(PERF_SESSION, url, git_revision="0123456789abcdef")
    assert result.action == "recorded" and result.benchmarks == 2 and result.samples == 10
    results = load(PERF_SESSION)
    with ResultsDB.open(url) as db:
        rows = {r.benchmark: r for r in db.history()}
        stored = db.get(PERF_SESSION.name)
        windows = db.samples(PERF_SESSION.name, "kws01")
    # Stored as the current schema: the schema-1 file migrated and validated, every figure kept.
    assert stored.results == results_data(results) and stored.results["schema_version"] == SCHEMA_VERSION
    assert stored.git_revision == "0123456789abcdef"
    assert stored.created == datetime(2026, 11, 23, 8, 58, 41, tzinfo=timezone.utc)
    kws = results["benchmarks"]["kws01"]
    assert rows["kws01"].flash_bytes == kws["firmware"]["flash_bytes"] == 43528
    assert rows["kws01"].metrics["instructions"] == kws["summary"]["median_instructions"]
    assert rows["kws01"].metrics["latency_us"] == kws["summary"]["median_latency_us"]
    assert rows["kws01"].metrics["firmware.sections..rodata"] == kws["firmware"]["sections"][".rodata"]
    assert rows["kws01"].metrics["bit_exact.windows"] == 5 and rows["kws01"].valid is False
    assert [w["instructions"] for w in windows] == [w["instructions"] for w in kws["windows"]]
    assert windows[3]["label"] == "random-0-3" and windows[3]["figures"]["lap_us"] == kws["windows"][3]["lap_us"]


def test_mode_specific_figures(url):
    record_session(ACCURACY_SESSION, url, detect_git=False)
    record_session(ENERGY_SESSION, url, detect_git=False)
    with ResultsDB.open(url) as db:
        acc = {r.benchmark: r.metrics for r in db.history(mode="accuracy")}
        (energy,) = db.history(mode="energy")
        files = db.samples(ACCURACY_SESSION.name, "kws01", "accuracy.files")
        energy_windows = db.samples(ENERGY_SESSION.name, "ad01", "energy.windows")
    assert acc["kws01"]["top1"] == 0.5 and acc["ad01"]["auc"] == 1.0
    assert acc["kws01"]["bit_exact.files"] == acc["kws01"]["bit_exact.files_total"] == 6
    assert [f["label"] for f in files] == [f"in{i}.bin" for i in range(6)]
    assert files[1]["figures"]["predicted"] is not None
    expected = load(ENERGY_SESSION)["benchmarks"]["ad01"]["energy"]["windows"]
    assert [w["energy_j"] for w in energy_windows] == [w["energy_per_inference_j"] for w in expected]
    assert energy.metrics["energy_per_inference_j"] == pytest.approx(4.7388e-4, rel=1e-4)


def test_non_finite_figures(url, tmp_path):
    results = load(PERF_SESSION)
    window = results["benchmarks"]["ad01"]["windows"][0]
    window["latency_us"], window["wall_s"] = float("nan"), float("inf")
    folder = write_session(tmp_path, "nan-session", results)
    record_session(folder, url, detect_git=False)
    with ResultsDB.open(url) as db:
        first = db.samples("nan-session", "ad01")[0]
        # The window as the schema holds it (the schema-1 window plus the fields schema 2 added).
        assert db.get("nan-session").results["benchmarks"]["ad01"]["windows"][1] == \
            results_data(results)["benchmarks"]["ad01"]["windows"][1]
    assert first["latency_us"] is None and first["figures"]["wall_s"] is None
    assert first["instructions"] == window["instructions"]


def test_rerecording_is_idempotent_and_replaces_changed_sessions(url, tmp_path):
    folder = write_session(tmp_path / "s", PERF_SESSION.name, load(PERF_SESSION))
    assert record_session(folder, url, detect_git=False).action == "recorded"
    with ResultsDB.open(url) as db:
        before = row_counts(db)
    assert record_session(folder, url, detect_git=False).action == "unchanged"
    changed = load(folder)
    changed["benchmarks"]["ad01"]["firmware"]["flash_bytes"] += 1000
    (folder / "results.json").write_text(json.dumps(changed))
    assert record_session(folder, url, detect_git=False).action == "replaced"
    with ResultsDB.open(url) as db:
        assert row_counts(db) == before  # replaced, not duplicated
        assert {r.benchmark: r.flash_bytes for r in db.history()}["ad01"] == 282064 + 1000


def test_a_failed_write_leaves_the_previous_version(url, tmp_path, monkeypatch):
    folder = write_session(tmp_path / "s", PERF_SESSION.name, load(PERF_SESSION))
    record_session(folder, url, detect_git=False)
    with ResultsDB.open(url) as db:
        before = row_counts(db)
    changed = load(folder)
    changed["status"] = "incomplete"
    (folder / "results.json").write_text(json.dumps(changed))

    # Fails half-way through the replacement: after the old rows are deleted and the new
    # session row is written.
    def broken(entry):
        yield from ()
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(rdb.figures, "samples", broken)
    with pytest.raises(RuntimeError, match="simulated"):
        record_session(folder, url, detect_git=False)
    monkeypatch.undo()
    with ResultsDB.open(url) as db:
        assert row_counts(db) == before
        assert db.get(PERF_SESSION.name).status == "complete"


# The recording process dies (SIGKILL, no cleanup) just before it writes the per-window rows,
# after the session, benchmark and metric rows of its transaction.
KILLER = textwrap.dedent("""
    import os, signal, sys
    from sqlalchemy.engine import Connection
    from tinyrig.hil.results.db import record_session

    real_execute = Connection.execute

    def execute(self, statement, *args, **kwargs):
        if str(statement).startswith("INSERT INTO tinyrig_samples"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_execute(self, statement, *args, **kwargs)

    Connection.execute = execute
    record_session(sys.argv[1], sys.argv[2], detect_git=False)
""")


def test_a_killed_recording_writes_nothing(url):
    proc = subprocess.run([sys.executable, "-c", KILLER, str(PERF_SESSION), url], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with ResultsDB.open(url) as db:
        assert not db.contains(PERF_SESSION.name)
        assert set(row_counts(db).values()) == {0}
    # The store is usable afterwards: the same session records in full.
    assert record_session(PERF_SESSION, url, detect_git=False).samples == 10


def test_unfinished_sessions_are_refused(tmp_path):
    results = load(PERF_SESSION)
    results["status"] = "running"
    folder = write_session(tmp_path, "killed-run", results)
    with pytest.raises(ResultsDBError, match=r"killed-run: session is still 'running'"):
        record_session(folder, tmp_path / "db.sqlite")
    with pytest.raises(ResultsDBError, match="not a tinyrig session"):
        record_session(tmp_path, tmp_path / "db.sqlite")


def test_git_revision_of_the_current_checkout(tmp_path, monkeypatch):
    repo = tmp_path / "project"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "f").write_text("x")
    subprocess.run([*git, "-C", str(repo), "add", "f"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "x"], check=True)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    monkeypatch.chdir(repo)
    record_session(PERF_SESSION, tmp_path / "db.sqlite")
    (repo / "f").write_text("changed")
    record_session(ENERGY_SESSION, tmp_path / "db.sqlite")
    monkeypatch.chdir(tmp_path)  # not a checkout: no revision, no error
    record_session(ACCURACY_SESSION, tmp_path / "db.sqlite")
    with ResultsDB.open(tmp_path / "db.sqlite") as db, db.engine.connect() as conn:
        got = dict(conn.execute(select(rdb.sessions.c.id, rdb.sessions.c.git_revision)).all())
        dirty = dict(conn.execute(select(rdb.sessions.c.id, rdb.sessions.c.git_dirty)).all())
    assert got == {PERF_SESSION.name: head, ENERGY_SESSION.name: head, ACCURACY_SESSION.name: None}
    assert dirty[PERF_SESSION.name] is False and dirty[ENERGY_SESSION.name] is True


def _session(board: str, mode: str, created: str, status: str = "complete") -> dict:
    results = load(PERF_SESSION)
    results.update(board=board, mode=mode, created=created, status=status)
    return results


def test_history_filters(url):
    with ResultsDB.open(url) as db:
        db.record_results("a", _session("b1", "performance", "2026-11-01T00:00:00+00:00"))
        db.record_results("b", _session("b1", "performance", "2026-11-10T00:00:00+00:00"))
        db.record_results("c", _session("b2", "performance", "2026-11-10T12:00:00+00:00"))
        db.record_results("d", _session("b1", "accuracy", "2026-11-20T00:00:00+00:00"))
        assert [r.session_id for r in db.history(board="b1", benchmark="ad01")] == ["a", "b", "d"]
        assert [r.session_id for r in db.history(mode="accuracy")] == ["d", "d"]
        assert {r.session_id for r in db.history(since=datetime(2026, 11, 5, tzinfo=timezone.utc),
                                                 until=datetime(2026, 11, 10, 23, tzinfo=timezone.utc))} == {"b", "c"}
        # --limit keeps the newest rows, shown oldest first.
        assert [(r.session_id, r.benchmark) for r in db.history(limit=3)] == [("c", "kws01"), ("d", "ad01"),
                                                                             ("d", "kws01")]


def test_baselines_are_the_last_good_runs_on_the_same_board(url):
    with ResultsDB.open(url) as db:
        for sid, board, mode, day, status in (("old", "b1", "performance", 1, "complete"),
                                              ("good", "b1", "performance", 2, "complete"),
                                              ("gated", "b1", "performance", 3, "complete"),
                                              ("partial", "b1", "performance", 4, "incomplete"),
                                              ("other-board", "b2", "performance", 5, "complete"),
                                              ("other-mode", "b1", "energy", 5, "complete"),
                                              ("later", "b1", "performance", 9, "complete")):
            db.record_results(sid, _session(board, mode, f"2026-11-0{day}T00:00:00+00:00", status))
        assert db.set_gate("gated", "fail") and not db.set_gate("nonexistent", "fail")
        candidate = _session("b1", "performance", "2026-11-06T00:00:00+00:00")
        assert [b.id for b in db.baselines(candidate, "cand", 5)] == ["good", "old"]
        assert [b.id for b in db.baselines(candidate, "cand", 1)] == ["good"]
        assert db.latest(board="b1").id == "later"


def test_db_urls(tmp_path, monkeypatch):
    monkeypatch.delenv(rdb.DB_ENV, raising=False)
    monkeypatch.setenv("TINYRIG_DATA", str(tmp_path / "data"))
    assert resolve_db_url() == f"sqlite:///{tmp_path / 'data' / 'results.sqlite'}"
    assert resolve_db_url(tmp_path / "x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    assert resolve_db_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv(rdb.DB_ENV, "postgresql+psycopg://team@db/tinyrig")
    assert resolve_db_url() == "postgresql+psycopg://team@db/tinyrig"
    with pytest.raises(ResultsDBError, match=r"no results database at .*missing\.sqlite"):
        ResultsDB.open(tmp_path / "missing.sqlite", must_exist=True)
    assert not (tmp_path / "missing.sqlite").exists()
    with pytest.raises(ResultsDBError, match="cannot open results database postgresql"):
        ResultsDB.open(f"postgresql+psycopg://nobody@/x?host={tmp_path}&port=1")


def test_record_and_history_commands(url):
    runner = CliRunner()
    out = runner.invoke(cli, ["record", str(PERF_SESSION), str(ACCURACY_SESSION), "--db", url, "--no-git"])
    assert out.exit_code == 0, out.output
    assert f"recorded   {PERF_SESSION.name}" in out.output and f"recorded   {ACCURACY_SESSION.name}" in out.output
    again = runner.invoke(cli, ["record", str(PERF_SESSION), "--db", url, "--no-git"])
    assert again.exit_code == 0 and "unchanged" in again.output
    table = runner.invoke(cli, ["history", "--db", url, "--benchmark", "kws01"])
    assert table.exit_code == 0 and PERF_SESSION.name in table.output and "39,068,058" in table.output
    assert "50.00%" in table.output  # the accuracy session's top-1
    data = json.loads(runner.invoke(cli, ["history", "--db", url, "--json", "--mode", "performance"]).output)
    assert {r["benchmark"] for r in data["rows"]} == {"kws01", "ad01"}
    assert all(r["session"] == PERF_SESSION.name for r in data["rows"])
    empty = runner.invoke(cli, ["history", "--db", url, "--since", "2030-01-01"])
    assert empty.exit_code == 0 and "no results" in empty.output
    bad = runner.invoke(cli, ["history", "--db", url, "--since", "last tuesday"])
    assert bad.exit_code == 2 and "ISO date" in bad.output


def test_parse_when():
    assert parse_when("2026-11-23") == datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert parse_when("2026-11-23", end=True) == datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - timedelta(days=7) - parse_when("7d")) < timedelta(seconds=5)
