"""hil.processes: the emulator launchers' process-group handling."""

from __future__ import annotations

import subprocess
import sys

from tinyrig.hil.targets.processes import start_watchdog, wait_for_exit


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def test_watchdog_kills_a_process_that_outlives_its_runtime():
    process = _sleeper()
    start_watchdog(process, 0.2)
    assert wait_for_exit(process, 10.0) is not None


def test_cancelled_watchdog_leaves_the_process_alone():
    process = _sleeper()
    try:
        start_watchdog(process, 0.2).cancel()
        assert wait_for_exit(process, 0.6) is None
    finally:
        process.kill()
        process.wait()
