"""The HTML report: self-contained, every section where the sessions have the figures, history
from the database, and it renders in headless Chromium with no console errors."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from tinyrig_testing.results_support import (
    ACCURACY_SESSION,
    ENERGY_SESSION,
    PERF_SESSION,
    load,
    render_in_chromium,
    write_session,
)
from tinyrig.hil.results.db import ResultsDB
from tinyrig.hil.results.html import ReportError, _history_points, load_session, write_html_report

ALL = [PERF_SESSION, ACCURACY_SESSION, ENERGY_SESSION]


@pytest.fixture(scope="module")
def history_db(tmp_path_factory) -> ResultsDB:
    """The performance session and two earlier, synthetic ones (labelled) on the same board."""
    db = ResultsDB.open(tmp_path_factory.mktemp("history") / "history.sqlite")
    db.record(PERF_SESSION, detect_git=False)
    for day, factor in ((20, 0.98), (21, 0.99)):
        earlier = copy.deepcopy(load(PERF_SESSION))
        earlier["synthetic"] = "test: an earlier night"
        earlier["created"] = f"2026-11-{day}T02:00:00+00:00"
        for entry in earlier["benchmarks"].values():
            entry["summary"]["median_latency_us"] *= factor
        db.record_results(f"night-{day}", earlier)
    yield db
    db.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory, history_db) -> Path:
    return write_html_report(ALL, tmp_path_factory.mktemp("report") / "out" / "report.html", db=history_db)


def test_report_is_self_contained_and_complete(report):
    text = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "the report must not load anything"
    assert "<script" not in text
    images = re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="([^"]+)"', text)
    assert images.count("memory use") == 3  # one per session
    assert {"ad01 over time", "kws01 over time", "confusion matrix kws01"} <= set(images)
    assert images.count("energy trace ad01") == 2  # the two traces kept with the energy session
    assert "3 trace file(s) named in results.json are not in" in text
    for heading in ("Sessions", "Summary", "Latency and instructions over time", "Memory use", "Energy traces",
                    "Accuracy"):
        assert f"<h2>{heading}</h2>" in text
    assert "39,068,058" in text and "top1 50.00%" in text and "auc 1.0000" in text and "473.881" in text


def test_history_comes_from_the_database(history_db):
    sessions = [load_session(PERF_SESSION)]
    with_db = _history_points(sessions, history_db)
    assert sorted(p.session for p in with_db["ad01"]) == sorted(["night-20", "night-21", PERF_SESSION.name])
    own = next(p for p in with_db["ad01"] if p.session == PERF_SESSION.name)
    assert own.highlight and len(own.window_latencies) == 5
    assert [p.session for p in _history_points(sessions, None)["ad01"]] == [PERF_SESSION.name]


def test_report_errors(tmp_path):
    with pytest.raises(ReportError, match=rf"{re.escape(str(tmp_path))}: not a tinyrig session"):
        write_html_report([tmp_path], tmp_path / "r.html")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.json").write_text("{")
    with pytest.raises(ReportError, match="unreadable results file"):
        write_html_report([bad], tmp_path / "r.html")
    with pytest.raises(ReportError, match="at least one session"):
        write_html_report([], tmp_path / "r.html")


def test_failed_benchmarks_show_their_error(tmp_path):
    results = load(PERF_SESSION)
    results["status"] = "incomplete"
    results["benchmarks"]["kws01"] = {"status": "failed", "error": "model <too big> for flash"}
    page = write_html_report([write_session(tmp_path, "s", results)], tmp_path / "r.html")
    assert "model &lt;too big&gt; for flash" in page.read_text()


def test_report_renders_in_headless_chromium(report):
    rendered = render_in_chromium(report)
    assert rendered.problems == []
    page = rendered.page
    assert page["title"] == "tinyrig report: qemu-mps2-an386"
    assert page["h2"] == ["Sessions", "Summary", "Latency and instructions over time", "Memory use", "Energy traces",
                          "Accuracy"]
    assert len(page["images"]) == 8 and all(image["ok"] for image in page["images"]), page["images"]
    assert page["tables"] == 4


def test_the_chromium_check_sees_errors(tmp_path):
    """The render test could not fail if this checker were blind: show it sees each kind."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body>'
                    '<img src="http://127.0.0.1:9/x.png" alt="external">'
                    '<script>console.error("logged error"); undefinedFunction();</script></body></html>')
    rendered = render_in_chromium(page)
    assert any("undefinedFunction is not defined" in e for e in rendered.exceptions)
    assert "logged error" in rendered.console_errors
    assert rendered.external_requests == ["http://127.0.0.1:9/x.png"]
    assert rendered.page["images"] == [{"ok": False, "w": 0, "alt": "external"}]
