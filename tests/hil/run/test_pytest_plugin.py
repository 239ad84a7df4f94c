"""The pytest plugin as a user meets it: a HIL test file in a project of their own, run with
--tinyrig-* options, selection by marker, and JUnit XML."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

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
    windows, summary = bench.performance(iterations=3, warmup=0, windows=2)
    assert summary.scores_match_reference
    # Exact counts from the window markers (as `tinyrig run`), not ticks / 3 from the SysTick timer.
    assert all(w.instructions and w.instructions == int(w.instructions) for w in windows)

@pytest.mark.tinyrig(benchmark="kws01")
def test_kws01_identity(dut):
    assert dut.profile().model == "kws01"

@pytest.mark.tinyrig(benchmark="vww01")
def test_vww01_is_deselected(dut):
    raise AssertionError("should not run with --tinyrig-benchmarks kws01,ad01")
'''


def _models_copy(tmp_path: Path, models_dir: Path) -> Path:
    """A writable models folder (links to the real models), to see whether pytest writes into it."""
    folder = tmp_path / "models"
    folder.mkdir()
    for model in models_dir.glob("*.tflite"):
        (folder / model.name).symlink_to(model)
    return folder


def test_user_hil_tests_with_the_plugin(tmp_path, models_dir):
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_my_board.py").write_text(USER_TESTS)
    models = _models_copy(tmp_path, models_dir)
    junit = tmp_path / "junit.xml"
    # The spelling README and docs give: `--option=VALUE`, so pytest keeps its rootdir (and cache).
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", str(project / "test_my_board.py"),
         "--tinyrig-board=qemu-mps2-an386", f"--tinyrig-models={models}",
         "--tinyrig-benchmarks=kws01,ad01", f"--junitxml={junit}", "-n", "2"],  # under pytest-xdist
        capture_output=True, text=True, timeout=600, cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout and "failed" not in proc.stdout
    assert not (models / ".pytest_cache").exists() and (project / ".pytest_cache").is_dir()
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "0"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert "test_vww01_is_deselected" not in cases and "test_kws01_performance" in cases
    # The measured figures travel in the JUnit file, per test.
    props = {name: {p.get("name"): p.get("value") for p in case.iter("property")} for name, case in cases.items()}
    perf = props["test_kws01_performance"]
    assert perf["tinyrig.board"] == "qemu-mps2-an386" and perf["tinyrig.target"] == "qemu"
    assert perf["tinyrig.benchmark"] == "kws01" and re.fullmatch(r"[0-9a-f]{64}", perf["tinyrig.firmware_sha256"])
    assert int(perf["tinyrig.flash_bytes"]) > 0 and perf["tinyrig.windows"] == "2"
    # kws01 (2,656,768 MACs) on the Cortex-M4's optimised kernels: about 1.1 instructions per MAC
    # (README); the portable kernels would be near 15. The two figures must agree.
    instructions, per_mac = float(perf["tinyrig.instructions"]), float(perf["tinyrig.instructions_per_mac"])
    assert 0.5 < per_mac < 2.0 and instructions / 2_656_768 == pytest.approx(per_mac, rel=1e-3)
    assert float(perf["tinyrig.latency_us"]) > 0
    assert props["test_ad01_matches_reference"]["tinyrig.bit_exact"] == "True"
    assert props["test_ad01_matches_reference"]["tinyrig.benchmark"] == "ad01"
    assert "tinyrig.instructions" not in props["test_kws01_identity"]  # nothing measured there


IDENTITY_TEST = """
import pytest

@pytest.mark.tinyrig(benchmark="kws01")
def test_identity(dut):
    assert dut.profile().model == "kws01"
"""


def test_the_same_fixture_drives_qemu_and_renode(tmp_path, models_dir):
    """One user test, two targets from the registry: QEMU for real, Renode through the fake monitor
    (tests/tinyrig_testing/fake_renode.py answers the console as firmware would)."""
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    import json
    from pathlib import Path

    (tmp_path / "test_identity.py").write_text(IDENTITY_TEST)
    from tinyrig_testing import fake_renode

    fake = Path(fake_renode.__file__)
    renode = tmp_path / "renode"
    renode.write_text(f"#!/bin/sh\nexec {sys.executable} {fake} \"$@\"\n")
    renode.chmod(0o755)
    script = tmp_path / "fake.json"
    script.write_text(json.dumps({"uart_greeting": "m-timestamp-mode-performance\r\nm-init-done\r\nm-ready\r\n",
                                  "uart_answers": {
                                      "name": "m-name-dut-[tinyrig]\r\nm-ready\r\n",
                                      "profile": "m-profile-[fake]\r\nm-model-[kws01]\r\nm-ready\r\n",
                                      "tinyrig caps": "m-caps-[raw,ticks]\r\nm-ready\r\n"}}))
    env = dict(os.environ, TINYRIG_RENODE=str(renode), FAKE_RENODE_SCRIPT=str(script))
    for board, target in (("qemu-mps2-an386", "qemu"), ("renode-stm32f4-discovery", "renode")):
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_identity.py"),
             f"--tinyrig-board={board}", f"--tinyrig-target={target}", f"--tinyrig-models={models_dir}"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
        assert proc.returncode == 0 and "1 passed" in proc.stdout, f"{target}: " + proc.stdout + proc.stderr


def test_a_path_after_a_space_is_flagged(tmp_path):
    """`pytest --tinyrig-models DIR` (the old README spelling) makes pytest read DIR as a test path
    when it picks its rootdir, so the rootdir (and .pytest_cache) moves out of the project. The
    plugin says so and how to spell it."""
    project, models = tmp_path / "project", tmp_path / "models"
    project.mkdir()
    models.mkdir()
    (project / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    spaced = subprocess.run([sys.executable, "-m", "pytest", "-q", "--tinyrig-models", str(models)],
                            capture_output=True, text=True, timeout=120, cwd=project)
    assert f"spell it --tinyrig-models={models}" in spaced.stdout + spaced.stderr
    assert not (project / ".pytest_cache").exists()  # the rootdir moved away from the project
    joined = subprocess.run([sys.executable, "-m", "pytest", "-q", f"--tinyrig-models={models}"],
                            capture_output=True, text=True, timeout=120, cwd=project)
    assert joined.returncode == 0 and "1 passed" in joined.stdout and "spell it" not in joined.stdout + joined.stderr
    assert not (models / ".pytest_cache").exists() and (project / ".pytest_cache").is_dir()
