"""The pytest plugin as a user meets it: a HIL test file in a project of their own, run with
--tinyrig-* options, selection by marker, and JUnit XML."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tinyrig_testing import require_tools

pytestmark = pytest.mark.qemu

USER_TESTS = '''
import pytest

@pytest.mark.tinyrig(benchmark="ad01")
def test_ad01_matches_reference(bench):
    data = bytes(range(256)) * 10  # 640 float32 features, whatever they are
    assert bench.matches_reference(data)

@pytest.mark.tinyrig(benchmark="kws01")
def test_kws01_performance(bench):
    windows, summary = bench.performance(iterations=1, warmup=0, windows=2)
    assert summary.scores_match_reference
    assert all(w.instructions for w in windows)

@pytest.mark.tinyrig(benchmark="kws01")
def test_kws01_identity(dut):
    assert dut.profile().model == "kws01"

@pytest.mark.tinyrig(benchmark="vww01")
def test_vww01_is_deselected(dut):
    raise AssertionError("should not run with --tinyrig-benchmarks kws01,ad01")
'''


def test_user_hil_tests_with_the_plugin(tmp_path, models_dir):
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    (tmp_path / "test_my_board.py").write_text(USER_TESTS)
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_my_board.py"),
         "--tinyrig-board", "qemu-mps2-an386", "--tinyrig-models", str(models_dir),
         "--tinyrig-benchmarks", "kws01,ad01", f"--junitxml={junit}", "-n", "2"],  # under pytest-xdist
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout and "failed" not in proc.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "0"
    names = {case.get("name") for case in suite.iter("testcase")}
    assert "test_vww01_is_deselected" not in names and "test_kws01_performance" in names
