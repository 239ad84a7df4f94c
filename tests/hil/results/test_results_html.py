"""The HTML report: self-contained, every section where the sessions have the figures, history
from the database, and it renders in headless Chromium with no console errors."""

from __future__ import annotations

import copy
import json
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


def _images(text: str) -> list[str]:
    return re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="([^"]+)"', text)


def test_report_is_self_contained_and_complete(report):
    text = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "the report must not load anything"
    assert "<script" not in text
    images = _images(text)
    assert 1 <= images.count("memory use") <= 3  # one per distinct set of firmware
    assert {"ad01 over time", "kws01 over time", "confusion matrix kws01"} <= set(images)
    # One representative trace shown, the other of the two kept traces folded away.
    assert images.count("energy trace ad01") == 2
    shown, folded = text.split("<details>", 1)
    assert _images(shown).count("energy trace ad01") == 1 and _images(folded).count("energy trace ad01") == 1
    assert "3 trace file(s) named in results.json are not in" in text
    headings = re.findall(r"<h2>([^<]+)</h2>", text)
    assert headings == ["Results", "Sessions", "Over time", "Memory use", "Energy traces", "Accuracy"]
    assert "39,068,058" in text and "top-1 50.00%" in text and "AUC 1.0000" in text and "473.881" in text


def test_results_table_has_one_row_per_benchmark(report):
    """MLPerf Tiny's layout: latency (ms), energy (uJ), accuracy, flash and RAM per benchmark,
    gathered from the performance, energy and accuracy sessions."""
    text = report.read_text()
    table = text.split("<h2>Results</h2>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in rows[1:]]
    assert [c[0] for c in cells] == ["kws01", "ad01"]
    kws, ad = ({h: v for h, v in zip(re.findall(r"<th[^>]*>([^<]*)</th>", rows[0]), c)} for c in cells)
    assert kws["latency (ms), virtual"] == "39.068" and ad["latency (ms), virtual"] == "1.435"
    assert ad["energy (uJ) / inference, modelled"] == "473.881" and kws["energy (uJ) / inference, modelled"] == "-"
    assert kws["accuracy"] == "50.0% top-1 (target 90%)" and ad["accuracy"] == "AUC 1.000 (target 0.85)"
    assert ad["flash (KiB)"] == f"{282064 / 1024:,.1f}" and ad["RAM (KiB)"] == f"{14852 / 1024:,.1f}"


def test_the_representative_trace_is_the_median_window():
    from tinyrig.hil.results.html import _representative_first

    entry = load(ENERGY_SESSION)["benchmarks"]["ad01"]
    paths = [Path(w["trace_csv"]) for w in entry["energy"]["windows"]]
    energies = [w["energy_per_inference_j"] for w in entry["energy"]["windows"]]
    median_index = energies.index(sorted(energies)[2])
    ordered = _representative_first(entry, paths)
    assert ordered[0] == paths[median_index] and sorted(ordered) == sorted(paths)


def _verdict_report(tmp_path, gates: dict[str, str], sessions: list[Path] = ALL) -> Path:
    db = ResultsDB.open(tmp_path / "gate.sqlite")
    for session in sessions:
        db.record(session, detect_git=False)
    for session, verdict in gates.items():
        db.set_gate(session.name, verdict)
    try:
        return write_html_report(sessions, tmp_path / "report.html", db=db)
    finally:
        db.close()


def _as_from_ci(tmp_path) -> list[Path]:
    """Copies of the stored sessions as a nightly job makes them (labelled synthetic): a git
    revision on each, and in the performance session a third benchmark that failed with a long
    error, the widest cells a report meets."""
    out = []
    for n, session in enumerate(ALL):
        results = load(session)
        results["synthetic"] = "test: git revision and a failed benchmark added"
        results["git_revision"] = f"{n}ded39cdef57" + "0" * 28
        if session == PERF_SESSION:
            results["status"] = "incomplete"
            results["benchmarks"]["vww01"] = {"status": "failed", "error": (
                "vww01: firmware does not fit: flash 4,523,112 B of 4,194,304 B (.rodata 4,301,056 B); "
                "a smaller model or a board with more flash is needed")}
        out.append(write_session(tmp_path / "sessions", session.name, results, copy_from=session))
    return out


def _verdict_block(text: str) -> str:
    body = text.split("<body>", 1)[1]
    assert body.index('id="verdict"') < body.index("<h2>"), "the verdict comes before every section"
    return body.split('id="verdict"', 1)[1].split("</div>", 1)[0]


def test_verdict_headline_from_the_database(tmp_path):
    passed = _verdict_block(_verdict_report(tmp_path / "p", {s: "pass" for s in ALL}).read_text())
    assert 'class="verdict pass"' in passed and "Regression gate: PASS (3 of 3 session(s) judged)" in passed
    failed = _verdict_block(_verdict_report(tmp_path / "f", {PERF_SESSION: "pass", ENERGY_SESSION: "fail"})
                            .read_text())
    assert 'class="verdict fail"' in failed and "Regression gate: FAIL (1 of 3 session(s))" in failed
    assert f"{ENERGY_SESSION.name}: fail" in failed and f"{ACCURACY_SESSION.name}: not judged" in failed
    none = _verdict_block(write_html_report(ALL, tmp_path / "n.html").read_text())
    assert 'class="verdict none"' in none and "no verdict" in none


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
    (bad / "results.json").write_text('{"benchmarks": ["kws01"]}')
    with pytest.raises(ReportError, match="not a tinyrig results file \\(no schema_version\\)"):
        write_html_report([bad], tmp_path / "r.html")
    (bad / "results.json").write_text(json.dumps(dict(load(PERF_SESSION), benchmarks=["kws01"])))
    with pytest.raises(ReportError, match="results.json: not a valid tinyrig results file: benchmarks: Input should be "
                                          "a valid dictionary$"):
        write_html_report([bad], tmp_path / "r.html")
    with pytest.raises(ReportError, match="at least one session"):
        write_html_report([], tmp_path / "r.html")


def test_failed_benchmarks_show_their_error(tmp_path):
    results = load(PERF_SESSION)
    results["status"] = "incomplete"
    results["benchmarks"]["kws01"] = {"status": "failed", "error": "model <too big> for flash"}
    page = write_html_report([write_session(tmp_path, "s", results)], tmp_path / "r.html")
    assert "model &lt;too big&gt; for flash" in page.read_text()


def test_report_renders_in_headless_chromium(tmp_path):
    """Done when: the verdict sits at the top, coloured, and nothing is wider than the window
    (tables fit at 1280 px; in a 700 px window a table may scroll inside its own box, never the
    page)."""
    sessions = _as_from_ci(tmp_path)
    report = _verdict_report(tmp_path, {sessions[0]: "pass", sessions[2]: "fail"}, sessions)
    assert "firmware does not fit" in _verdict_block(report.read_text())  # named under the verdict
    wide = render_in_chromium(report, width=1280)
    assert wide.problems == []
    page = wide.page
    assert page["title"] == "tinyrig report: qemu-mps2-an386"
    assert page["h2"] == ["Results", "Sessions", "Over time", "Memory use", "Energy traces", "Accuracy"]
    assert all(image["ok"] for image in page["images"]), page["images"]
    assert [i["shown"] for i in page["images"] if i["alt"] == "energy trace ad01"] == [True, False]  # folded
    assert page["tables"] == 5
    verdict = page["verdict"]
    assert verdict["right_after_title"] and verdict["top"] < 120
    assert verdict["text"].startswith("Regression gate: FAIL") and verdict["background"] == "rgb(198, 40, 40)"
    assert page["wider_than_viewport"] == [] and page["wider_inside_scrollers"] == []
    assert page["scrolling_boxes"] == [] and page["page_width"] == page["viewport"]
    laptop = render_in_chromium(report, width=1024).page
    assert laptop["wider_than_viewport"] == [] and laptop["scrolling_boxes"] == []
    narrow = render_in_chromium(report, width=700).page
    assert narrow["wider_than_viewport"] == [] and narrow["page_width"] == narrow["viewport"]


def test_the_layout_check_sees_overflow(tmp_path):
    """The width assertions above could not fail if the checker were blind: a page with a wide
    table outside any scrolling box is caught."""
    page = tmp_path / "wide.html"
    page.write_text('<!DOCTYPE html><html><head><title>wide</title></head><body>'
                    '<table><tr><td style="white-space:nowrap">' + "2,490,148 " * 200 + '</td></tr></table>'
                    '<div style="overflow-x:auto"><table><tr><td style="white-space:nowrap">' + "x " * 500 +
                    '</td></tr></table></div></body></html>')
    rendered = render_in_chromium(page, width=800).page
    assert any(e.startswith("table") for e in rendered["wider_than_viewport"])
    assert rendered["page_width"] > rendered["viewport"]
    assert any(e.startswith("table") for e in rendered["wider_inside_scrollers"])
    assert any(e.startswith("div") for e in rendered["scrolling_boxes"])
    assert rendered["verdict"] is None


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
    assert rendered.page["images"] == [{"ok": False, "w": 0, "alt": "external", "shown": True}]
