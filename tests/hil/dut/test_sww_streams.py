"""The shipped test stream on the host: its keyword fires the sww01 model, its distractors do not.

The firmware's features equal tinyrig.hil.dut.audio_features byte for byte (checked under QEMU in
tests/hil/modes/test_sww_stream_qemu.py), so the host pipeline here is what the device sees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyrig.codegen.audio_frontend import build_tables
from tinyrig.hil.dut.audio_features import model_windows, stream_features
from tinyrig.hil.dut.sww_streams import Event, build_stream, default_stream, distractor_grid, write_test_stream
from tinyrig.hil.modes.sww_scoring import load_truth


def detections(samples: np.ndarray, models_dir: Path) -> np.ndarray:
    """Hops whose window the host pipeline (features + tflite-micro) takes for the wakeword."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(models_dir / "sww01.tflite"))
    out = []
    for window in model_windows(stream_features(samples, build_tables(0.0037010426, -128))):
        interpreter.set_input(window.reshape(1, 30, 1, 40), 0)
        interpreter.invoke()
        out.append(int(np.asarray(interpreter.get_output(0)).reshape(-1)[0]))
    return np.flatnonzero(np.array(out) > 115)


def test_shipped_keyword_fires_and_distractors_do_not(models_dir):
    """The shipped stream's sounds, on the host: each keyword is detected, no distractor is."""
    samples, windows = default_stream()
    hop_ends = (detections(samples, models_dir) + 1) * 512 / 16000
    for start, stop in windows:
        assert np.any((hop_ends >= start) & (hop_ends <= stop + 1.0)), (start, hop_ends)
    assert all(any(start <= t <= stop + 1.0 for start, stop in windows) for t in hop_ends)
    quiet, _ = build_stream(6.0, [Event("distractor", 1.0 + i, -26.0, seed=500 + i) for i in range(4)])
    assert detections(quiet, models_dir).size == 0
    assert not np.array_equal(distractor_grid(1), distractor_grid(2))


def test_written_stream_is_a_runner_truth_file(tmp_path):
    truth = load_truth(write_test_stream(tmp_path))
    samples, windows = default_stream()
    assert [list(w) for w in truth[0].windows] == windows and len(windows) == 4
    assert truth[0].length_s == len(samples) / 16000 and (tmp_path / truth[0].wav_file).is_file()
