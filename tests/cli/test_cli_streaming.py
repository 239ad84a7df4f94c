"""`tinyrig run --benchmark sww01 --mode streaming` through the console script, and its input errors
(checked before anything is built: the fast tier)."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from tinyrig_testing import require_tools
from tinyrig.hil.dut.sww_streams import Event, build_stream, write_stream


def tinyrig(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyrig.cli", *args], capture_output=True, text=True, timeout=timeout)


def write_wav(path: Path, rate: int, width: int = 2) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(bytes(width * rate))


@pytest.mark.parametrize("case,expected", [
    ("bad_json", "not valid JSON"),
    ("missing_wav", "wav_file 'nope.wav' not found"),
    ("rate", "8000 Hz; the streaming wakeword takes 16000 Hz"),
    ("window", "detection_windows[0] must be [start_s, stop_s]"),
])
def test_bad_stream_input_is_one_clear_line(tmp_path, case, expected):
    truth = tmp_path / "truth.json"
    entry = {"wav_file": "a.wav", "detection_windows": [[1.0, 2.0]]}
    write_wav(tmp_path / "a.wav", 16000)
    if case == "bad_json":
        truth.write_text("[{")
    elif case == "missing_wav":
        truth.write_text(json.dumps([dict(entry, wav_file="nope.wav")]))
    elif case == "rate":
        write_wav(tmp_path / "a.wav", 8000)
        truth.write_text(json.dumps([entry]))
    else:
        truth.write_text(json.dumps([dict(entry, detection_windows=[[3.0, 1.0]])]))
    proc = tinyrig("run", "--benchmark", "sww01", "--mode", "streaming", "--stream", str(truth),
                   "--sessions", str(tmp_path / "s"), "--no-record", timeout=120)
    assert proc.returncode == 2
    # One message (the console may wrap it at 160 columns), naming the file and the problem.
    assert proc.stderr.startswith("error:") and proc.stderr.count("error:") == 1, proc.stderr
    assert expected in " ".join(proc.stderr.split()), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.qemu
def test_streaming_run_prints_runner_lines(tmp_path, models_dir):
    require_tools("qemu-system-arm", "arm-none-eabi-gcc", "gcc")
    samples, windows = build_stream(10.0, [Event("keyword", 2.1, -24.0), Event("distractor", 5.0, -24.0, seed=31),
                                           Event("keyword", 7.3, -30.0)])
    truth = write_stream(tmp_path / "data", "ten_seconds", samples, windows)
    proc = tinyrig("run", "--benchmark", "sww01", "--mode", "streaming", "--stream", str(truth), "--models",
                   str(models_dir), "--sessions", str(tmp_path / "s"), "--no-record")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (session,) = [p for p in (tmp_path / "s").iterdir() if p.is_dir()]
    text = (session / "sww01" / "streaming" / "results.txt").read_text().splitlines()
    assert "Accuracy: 2 True positives, 0 False negatives, 0 False positives" in text
    assert "Average period: 0.032 s" in text
    duty = float(next(line for line in text if line.startswith("Average duty cycle: ")).split(": ")[1])
    # Emulated: the throughput the checker would read as the result stays in results.json only,
    # and the emulated ERROR line says why.
    assert not any(line.startswith("Estimated throughput: ") for line in text)
    assert "ERROR - emulated on qemu" in text[-1]
    summary = json.loads((session / "results.json").read_text())["benchmarks"]["sww01"]["summary"]
    throughput = summary["throughput"]
    assert 0.01 < duty < 0.2 and throughput == pytest.approx(1 / (duty * 0.032), rel=1e-3)
    assert summary["features_equal"] == summary["outputs_equal"] == summary["checked_hops"] == 312


@pytest.mark.parametrize("args,expected", [
    (["--mode", "energy", "--power-monitor", "lpm01a"], "sww01's energy on a board is measured over the interface "
                                                          "board's stream: --io-manager PORT"),
    (["--mode", "streaming", "--port", "/dev/null", "--stream", "TRUTH"], "wav_file 'x.wav' not found"),
    (["--mode", "streaming", "--io-manager", "/dev/null", "--stream", "TRUTH"],
     "entry 'x.wav' has no length_sec and its wav is not beside the truth file"),
], ids=["energy-without-board", "uart-path-without-wav", "bench-truth-without-length"])
def test_bench_streaming_options_are_checked_before_building(tmp_path, args, expected):
    truth = tmp_path / "t.json"
    truth.write_text(json.dumps([{"wav_file": "x.wav", "detection_windows": [[1.0, 2.0]]}]))
    args = [str(truth) if a == "TRUTH" else a for a in args]
    proc = tinyrig("run", "--board", "nucleo-l4r5zi", "--target", "hardware", "--no-flash", "--benchmark", "sww01",
                   *args, "--sessions", str(tmp_path / "s"), "--no-record", timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("error:") == 1 and expected in " ".join(proc.stderr.split()), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and not (tmp_path / "s").exists()


def test_all_in_another_mode_says_where_sww01_went(tmp_path):
    # -j on a board fails after the benchmark list is read (and before anything builds).
    proc = tinyrig("run", "--mode", "performance", "--benchmark", "all", "--target", "hardware",
                   "--board", "nucleo-l4r5zi", "--no-flash", "--port", "/dev/null", "-j", "2",
                   "--sessions", str(tmp_path / "s"), "--no-record", timeout=120)
    assert proc.returncode == 2 and "-j applies to emulators" in proc.stderr
    note = " ".join(proc.stdout.split())
    assert ("note: 'all' is the four non-streaming benchmarks in performance mode; sww01 runs with --mode "
            "streaming (its energy: --mode energy --benchmark sww01)") in note
