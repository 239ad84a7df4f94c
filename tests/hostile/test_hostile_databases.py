"""Hostile results databases: corrupt, damaged inside, read-only, a folder, out of reach, with
options SQLite does not know. Every command says so in one line with exit status 5, nothing is
written where it should not be, and `tinyrig db check` says what is wrong."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tinyrig_testing.hostile_support import assert_clear, assert_ok, invoke

DB_EXIT = 5
SESSION_EXIT = 6
from tinyrig_testing.results_support import PERF_SESSION as PERFORMANCE  # a real recorded session


def _session(root: Path, name: str, created: str) -> Path:
    """A copy of a real recorded session under another name and time."""
    folder = root / name
    shutil.copytree(PERFORMANCE, folder)
    results = json.loads((folder / "results.json").read_text())
    results["created"] = created
    (folder / "results.json").write_text(json.dumps(results))
    return folder


@pytest.fixture
def good_db(tmp_path) -> Path:
    """A results database holding two sessions on one board, target and mode."""
    db = tmp_path / "good.sqlite"
    for name, created in (("20261201T000000Z-qemu-mps2-an386-performance", "2026-12-01T00:00:00+00:00"),
                          ("20261202T000000Z-qemu-mps2-an386-performance", "2026-12-02T00:00:00+00:00")):
        assert_ok(invoke("record", "--db", db, _session(tmp_path / "sessions", name, created)))
    return db


@pytest.fixture
def corrupt_db(tmp_path) -> Path:
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(np.random.default_rng(3).integers(0, 256, 8192, dtype=np.uint8).tobytes())
    return path


@pytest.fixture
def damaged_db(good_db) -> Path:
    """A real SQLite file whose pages were overwritten (the header still says SQLite)."""
    sqlite3.connect(good_db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    with open(good_db, "r+b") as handle:
        handle.seek(4096 * 3)
        handle.write(b"\xff" * 6000)
    return good_db


@pytest.mark.parametrize("command", ["history", "record", "compare-last"])
def test_corrupt_database(command, corrupt_db, tmp_path, observed):
    args = {"history": ["history"], "record": ["record", _session(tmp_path, "s", "2026-12-03T00:00:00+00:00")],
            "compare-last": ["compare", "--last", "1"]}[command]
    before = corrupt_db.read_bytes()
    assert_clear(invoke(*args, "--db", corrupt_db, observed=observed), DB_EXIT, str(corrupt_db),
                 "file is not a database", "tinyrig db check")
    assert corrupt_db.read_bytes() == before, "a corrupt database is left as it is"


@pytest.mark.parametrize("command", ["history", "record", "compare-last"])
def test_damaged_database(command, damaged_db, tmp_path, observed):
    args = {"history": ["history"], "record": ["record", _session(tmp_path, "s", "2026-12-03T00:00:00+00:00")],
            "compare-last": ["compare", "--last", "1"]}[command]
    assert_clear(invoke(*args, "--db", damaged_db, observed=observed), DB_EXIT, "malformed")


def test_db_check_names_a_corrupt_file(corrupt_db, observed):
    result = invoke("db", "check", "--db", corrupt_db, observed=observed)
    assert result.code == DB_EXIT and "Traceback" not in result.text
    bad = [line for line in result.out.splitlines() if line.startswith("BAD")]
    assert len(bad) == 1 and "not a SQLite database" in bad[0] and "tinyrig record" in bad[0], result.out


def test_db_check_names_a_damaged_file(damaged_db, observed):
    result = invoke("db", "check", "--db", damaged_db, observed=observed)
    assert result.code == DB_EXIT and "Traceback" not in result.text
    assert any(line.startswith("BAD") and "malformed" in line for line in result.out.splitlines()), result.out


def test_db_check_passes_a_good_database(good_db, observed):
    assert_ok(invoke("db", "check", "--db", good_db, observed=observed), "2 session(s) recorded")


def test_read_only_database_refuses_a_record_cleanly(good_db, tmp_path, observed):
    url = f"sqlite:///{good_db}?mode=ro"
    before = invoke("history", "--db", url, "--json")
    assert before.code == 0 and json.loads(before.out)["rows"]
    assert_clear(invoke("record", "--db", url, _session(tmp_path, "third", "2026-12-03T00:00:00+00:00"),
                        observed=observed), DB_EXIT, "readonly")
    after = invoke("history", "--db", good_db, "--json")
    assert json.loads(after.out)["rows"] == json.loads(before.out)["rows"]


def test_read_only_database_keeps_the_gate_verdict(good_db, observed):
    """compare --last on a read-only database judges, and says the verdict could not be stored."""
    result = invoke("compare", "--last", "1", "--db", f"sqlite:///{good_db}?mode=ro", observed=observed)
    assert result.code == 0 and "Traceback" not in result.text, result.text
    assert "verdict not stored" in result.err and "readonly" in result.err


def test_sqlite_uri_options_never_become_part_of_the_file_name(good_db, tmp_path, observed):
    url = f"sqlite:///{good_db}?mode=ro"
    result = invoke("history", "--db", url, "--json", observed=observed)
    assert_ok(result)
    assert not any("?" in p.name for p in good_db.parent.iterdir())


def test_relative_read_only_url(good_db, observed, monkeypatch):
    monkeypatch.chdir(good_db.parent)
    assert_clear(invoke("record", "--db", f"sqlite:///{good_db.name}?mode=ro", PERFORMANCE, observed=observed),
                 DB_EXIT, "readonly")
    assert sorted(p.name for p in good_db.parent.iterdir() if "?" in p.name) == []


def test_unknown_sqlite_option(tmp_path, observed):
    assert_clear(invoke("history", "--db", f"sqlite:///{tmp_path}/x.db?colour=red", observed=observed), DB_EXIT,
                 "unknown SQLite URL option(s) colour", "mode=ro")


def test_database_is_a_folder(tmp_path, observed):
    assert_clear(invoke("history", "--db", tmp_path, observed=observed), DB_EXIT, "is a folder")


def test_database_that_does_not_exist(tmp_path, observed):
    assert_clear(invoke("history", "--db", tmp_path / "absent.sqlite", observed=observed), DB_EXIT,
                 "no results database at")
    assert not (tmp_path / "absent.sqlite").exists(), "a reader does not create an empty database"


def test_database_under_proc(observed):
    assert_clear(invoke("record", "--db", "/proc/tinyrig/results.sqlite", PERFORMANCE, observed=observed), DB_EXIT,
                 "cannot create its folder")


def test_postgres_server_not_there(observed):
    pytest.importorskip("psycopg")
    assert_clear(invoke("history", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", observed=observed),
                 DB_EXIT, "cannot open results database", "127.0.0.1")


def test_not_a_database_url(observed):
    assert_clear(invoke("history", "--db", "nosuchdialect://x/y", observed=observed), DB_EXIT, "nosuchdialect")


@pytest.mark.parametrize("version", ["99", "garbage"])
def test_schema_version_from_elsewhere(version, good_db, observed):
    with sqlite3.connect(good_db) as conn:
        conn.execute("UPDATE tinyrig_schema SET value = ? WHERE key = 'schema_version'", (version,))
    needle = "upgrade tinyrig" if version == "99" else "not a number"
    assert_clear(invoke("history", "--db", good_db, observed=observed), DB_EXIT, needle)


def test_unreadable_stored_results(good_db, observed):
    with sqlite3.connect(good_db) as conn:
        conn.execute("UPDATE tinyrig_sessions SET results = '{not json'")
    assert_clear(invoke("compare", "--last", "1", "--db", good_db, observed=observed), DB_EXIT,
                 "unreadable")
    result = invoke("db", "check", "--db", good_db)
    assert result.code == DB_EXIT and "unreadable results document" in result.out


def test_run_refuses_a_bad_database_url_before_measuring(tmp_path, observed):
    result = invoke("run", "--benchmark", "kws01", "--sessions", tmp_path / "s", "--db",
                    f"sqlite:///{tmp_path}/x.db?colour=red", observed=observed)
    assert_clear(result, DB_EXIT, "colour")
    assert not (tmp_path / "s").exists(), "nothing started"


@pytest.mark.parametrize("kind", ["pipe", "file"])
def test_record_of_something_that_is_no_session_folder(kind, tmp_path, observed):
    import os

    thing = tmp_path / "thing"
    os.mkfifo(thing) if kind == "pipe" else thing.write_text("{}")
    result = invoke("record", "--db", tmp_path / "db.sqlite", thing, observed=observed)
    if kind == "file":  # click refuses a file where a folder is due
        assert_clear(result, 2, "is a file")
    else:  # the session folder is the trouble, not the database: 6, as report and compare say
        assert_clear(result, SESSION_EXIT, str(thing), "results.json")


@pytest.mark.parametrize("damage", ["truncated", "not-an-object", "unfinished"])
def test_record_of_a_damaged_session_is_a_session_error(damage, tmp_path, observed):
    """A session whose results.json is cut short, not a results document, or still 'running' (its
    tinyrig was killed): one line naming it, status 6 (the database is fine); it was 5 before."""
    folder = _session(tmp_path / "sessions", "damaged", "2026-12-03T00:00:00+00:00")
    results = folder / "results.json"
    if damage == "truncated":
        results.write_text(results.read_text()[:300])
    elif damage == "not-an-object":
        results.write_text("[]")
    else:
        document = json.loads(results.read_text())
        document["status"] = "running"
        results.write_text(json.dumps(document))
    good = _session(tmp_path / "sessions", "good", "2026-12-04T00:00:00+00:00")
    result = invoke("record", "--db", tmp_path / "db.sqlite", folder, good, observed=observed)
    assert_clear(result, SESSION_EXIT, str(folder))
    assert "recorded" in result.out, "the good session is recorded all the same"
    history = invoke("history", "--db", tmp_path / "db.sqlite", observed=observed)
    assert_ok(history, "good")
