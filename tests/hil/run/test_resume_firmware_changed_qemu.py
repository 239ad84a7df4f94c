"""`tinyrig run --resume` never adds windows of another firmware to a session's saved ones.

Before: with kws01.tflite replaced under --models between the interrupted run and its resume, the
session ended "complete", 5/5 bit-exact, windows 0-1 at 2,936,158 instructions per inference (the
reference kws01) and windows 2-4 at 170,782 (the other model), its median and hashes the new
model's. Real PlatformIO, gcc and QEMU."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinyrig_testing import require_tools
from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.hostile_support import assert_clear, assert_ok, tinyrig_cli

pytestmark = pytest.mark.qemu

BOARDS = Path(__file__).resolve().parents[3] / "boards"


def _results(root: Path) -> tuple[Path, dict]:
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    return folder, json.loads((folder / "results.json").read_text())


def _interrupted_after_two_windows(tmp_path: Path, models: Path, board: str) -> tuple[Path, dict]:
    """A kws01 session stopped by Ctrl-C once two windows are saved."""
    proc = subprocess.Popen([sys.executable, "-m", "tinyrig.cli", "run", "--board", board, "--benchmark", "kws01",
                             "-n", "40", "--models", str(models), "--sessions", str(tmp_path / "s"), "--no-record"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            try:
                if len(_results(tmp_path / "s")[1]["benchmarks"]["kws01"]["windows"]) >= 2:
                    break
            except (ValueError, KeyError, FileNotFoundError):
                pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    return _results(tmp_path / "s")


def _another_kws01_model() -> bytes:
    """A model with kws01's input and output shapes that is not kws01."""
    import numpy as np

    mb = tb.ModelBuilder(np.random.default_rng(1))
    x = mb.input((1, 49, 10, 1), "int8")
    y = tb.conv2d(mb, x)
    y = tb.fully_connected(mb, tb.reshape(mb, y, (1, int(np.prod(y.shape)))), units=12)
    return tb.finish_model(mb, [x], tb.softmax(mb, y))[0]


@pytest.fixture
def models(tmp_path, models_dir) -> Path:
    require_tools("arm-none-eabi-gcc", "qemu-system-arm")
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(models_dir / "kws01.tflite", folder / "kws01.tflite")
    return folder


def test_resume_with_the_model_replaced_is_refused_before_building(tmp_path, models):
    folder, before = _interrupted_after_two_windows(tmp_path, models, "qemu-mps2-an386")
    kept = before["benchmarks"]["kws01"]["windows"]
    original = (models / "kws01.tflite").read_bytes()
    (models / "kws01.tflite").write_bytes(_another_kws01_model())

    refused = tinyrig_cli("run", "--resume", folder)
    assert_clear(refused, 6, f"cannot resume {folder}", "kws01", "is not the one", "saved window")
    _, after = _results(tmp_path / "s")
    assert after["benchmarks"]["kws01"]["windows"] == kept and after["status"] == "interrupted"

    (models / "kws01.tflite").write_bytes(original)  # the model put back: the resume finishes
    assert_ok(tinyrig_cli("run", "--resume", folder))
    _, done = _results(tmp_path / "s")
    windows = done["benchmarks"]["kws01"]["windows"]
    assert done["status"] == "complete" and len(windows) == 5
    counts = [w["instructions"] for w in windows]  # inputs move them by a few thousand, another model by 17x
    assert max(counts) < 1.01 * min(counts), f"one firmware measured every window: {counts}"


def test_resume_with_the_board_file_changed_keeps_the_saved_windows(tmp_path, models):
    """The board file is the session's, not an option: edited meanwhile, it makes other firmware."""
    board = tmp_path / "vendor-an386.toml"
    board.write_text((BOARDS / "qemu-mps2-an386.toml").read_text().replace('name = "qemu-mps2-an386"',
                                                                           'name = "vendor-an386"'))
    folder, before = _interrupted_after_two_windows(tmp_path, models, str(board))
    entry = before["benchmarks"]["kws01"]
    text = board.read_text()
    assert "pulse_cycles = 2000" in text
    board.write_text(text.replace("pulse_cycles = 2000", "pulse_cycles = 4000", 1))

    result = tinyrig_cli("run", "--resume", folder)
    assert_clear(result, 1, "kws01 failed", "other firmware", "board file")
    _, after = _results(tmp_path / "s")
    assert after["benchmarks"]["kws01"]["windows"] == entry["windows"]
    assert after["benchmarks"]["kws01"]["firmware"] == entry["firmware"], "the record of what ran is kept"
