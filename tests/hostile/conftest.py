"""The hostile-input suite: every case ends in one clear line, a known exit status, no traceback,
no hang, no emulator left behind, and nothing measured lost.

Each test is one case. With $TINYRIG_HOSTILE_REPORT set, one JSON line per case goes to that file
(outcome, whether a traceback, a hang or a leaked emulator was seen); benchmarks/hostile_inputs.py
runs the suite that way and counts them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "power"))  # the pty simulators of the power monitors

from tinyrig_testing.hostile_support import Observed

REPORT_ENV = "TINYRIG_HOSTILE_REPORT"


@pytest.fixture(autouse=True)
def observed(request) -> Observed:
    """What the case's commands did (tracebacks, hangs, leaks), for the report."""
    seen = Observed()
    request.node._hostile = seen
    return seen


@pytest.fixture(autouse=True)
def _private_state(tmp_path, monkeypatch):
    """Each case gets its own results database and sessions; builds stay in the shared cache."""
    monkeypatch.setenv("TINYRIG_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("TINYRIG_DB", raising=False)
    monkeypatch.delenv("TINYRIG_SESSIONS", raising=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    path = os.environ.get(REPORT_ENV)
    if not path or report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    seen: Observed | None = getattr(item, "_hostile", None)
    record = {
        "case": item.nodeid,
        "outcome": report.outcome,
        "tracebacks": seen.tracebacks if seen else 0,
        "hangs": seen.hangs if seen else 0,
        "leaked": seen.leaked if seen else 0,
        "commands": seen.commands if seen else 0,
        # An unexpected exception in the test itself is a traceback of the code under test.
        "raised": bool(report.failed and call.excinfo is not None
                       and not call.excinfo.errisinstance(AssertionError)),
    }
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
