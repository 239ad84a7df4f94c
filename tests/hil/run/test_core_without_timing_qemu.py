"""A board whose core the cycle model has no timing data for (a Cortex-M3 on QEMU's mps2-an385: the
cmsdk family and the schema allow it) runs, profiles and measures energy with instruction counts,
as under --no-cycles. Before, each of them failed on the missing cores/cortex-m3.toml (`profile`
with a traceback) unless the user knew to pass --no-cycles. Real gcc, PlatformIO and QEMU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyrig_testing import require_tools
from tinyrig_testing.hostile_support import assert_clear, assert_ok, tinyrig_cli

pytestmark = pytest.mark.qemu

BOARDS = Path(__file__).resolve().parents[3] / "boards"


@pytest.fixture
def m3_board(tmp_path) -> Path:
    require_tools("arm-none-eabi-gcc", "qemu-system-arm")
    from tinyrig.hil.targets.cycle_model import has_core_timing

    assert not has_core_timing("cortex-m3"), "this test needs a core without timing data"
    text = (BOARDS / "qemu-mps2-an386.toml").read_text()
    replaced = {'name = "qemu-mps2-an386"': 'name = "vendor-an385"', 'core = "cortex-m4"': 'core = "cortex-m3"',
                'fpu = "fpv4-sp-d16"': 'fpu = "none"', 'qemu_machine = "mps2-an386"': 'qemu_machine = "mps2-an385"'}
    for old, new in replaced.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "vendor-an385.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("mode", ["performance", "energy"])
def test_run_counts_instructions(mode, m3_board, tmp_path, models_dir):
    result = tinyrig_cli("run", "--board", m3_board, "--benchmark", "kws01", "--mode", mode, "--models", models_dir,
                         "--sessions", tmp_path / "s", "--no-record")
    assert_ok(result, "complete")
    if mode == "performance":  # why the est. cycles columns are missing, said once
        assert_ok(result, "no est. cycles: the cycle model has no timing data for the cortex-m3 (it has cortex-m33, "
                          "cortex-m4, cortex-m55, cortex-m7")
    (folder,) = (tmp_path / "s").iterdir()
    kws = json.loads((folder / "results.json").read_text())["benchmarks"]["kws01"]
    if mode == "energy":
        assert "1 instruction per cycle" in kws["energy"]["clock_model"]
        assert len(kws["energy"]["windows"]) == 5
        assert all(w["energy_per_inference_j"] > 0 for w in kws["energy"]["windows"])
    else:
        assert len(kws["windows"]) == 5 and all(w["instructions"] > 0 for w in kws["windows"])


def test_profile_counts_instructions(m3_board, models_dir):
    result = tinyrig_cli("profile", "--board", m3_board, "--benchmark", "kws01", "--models", models_dir)
    assert_ok(result, "inference", "CONV_2D")
    assert "est. cycles" not in result.out


def test_predict_still_needs_the_same_core(m3_board, tmp_path, models_dir):
    """Asked for by name, an estimate that cannot be made is still one line and status 2."""
    result = tinyrig_cli("run", "--board", m3_board, "--benchmark", "kws01", "--predict", "nucleo-l4r5zi",
                         "--models", models_dir, "--sessions", tmp_path / "s", "--no-record")
    assert_clear(result, 2, "cortex-m3", "same core")
