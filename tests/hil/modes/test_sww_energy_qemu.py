"""sww01 in energy mode, end to end: the runner measures the streaming wakeword's energy over its
stream (one trial, `Inferences: 1`) and follows it with the streaming lines.

* Under QEMU: the emulated energy from each hop's estimated cycles at the board clock
  (qemu-mps3-an547: Cortex-M55 at 32 MHz keeps up with the 32 ms hops).
* On a bench: `--target hardware --io-manager PORT --power-monitor lpm01a`, with the interface
  board and the LPM01A simulated on ptys (their real protocols) and sww01's energy firmware under
  QEMU behind the board. The session's energy must be the trace's between the monitor's events.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.hil.dut.sww_streams import write_test_stream
from tinyrig.hil.modes.sww_scoring import load_truth
from tinyrig_testing import require_tools
from tinyrig_testing.sim_io_manager import recording_at_truth
from tinyrig_testing.sim_lpm01a import LPM01ASim
from tinyrig_testing.sww_bench import emulated_sww_bench

pytestmark = pytest.mark.qemu
MEDIAN_LINE = re.compile(r"^Median energy cost is ([0-9.]+) uJ/inf\.$", re.M)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyrig.cli", "run", *args, "--no-record"],
                          capture_output=True, text=True, timeout=900)


def test_emulated_stream_energy_follows_the_estimated_duty_cycle(models_dir, tmp_path):
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    proc = _run("--board", "qemu-mps3-an547", "--mode", "energy", "--benchmark", "sww01",
                "--models", str(models_dir), "--sessions", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (session,) = tmp_path.iterdir()
    entry = json.loads((session / "results.json").read_text())["benchmarks"]["sww01"]
    energy = entry["energy"]
    (window,) = energy["windows"]
    board = load_board("qemu-mps3-an547")
    duty = energy["estimated_duty_cycle"]
    assert 0.05 < duty < 1  # the M55 at 32 MHz keeps up, and is far from idle
    p = board.power
    hops = entry["streaming"]["streams"][0]["hops"]
    assert window["window_s"] == pytest.approx(hops * 0.032)
    assert window["energy_j"] == pytest.approx(
        window["window_s"] * p.supply_v * (duty * p.active_current_a + (1 - duty) * p.idle_current_a), rel=1e-6)
    text = (session / "sww01" / "energy" / "results.txt").read_text().splitlines()
    assert text[:3] == ["Power Edition Output", "Energy data for trial 0", f"  Elapsed time  : {window['window_s']}"]
    assert text[3] == "  Inferences    : 1"
    # Emulated: the runner's ERROR line instead of the median, then the stream's lines (no throughput).
    assert not MEDIAN_LINE.search("\n".join(text))
    assert text[7].startswith("ERROR: Not valid for submission.  Emulated on qemu")
    assert text[8] == "Accuracy: 4 True positives, 0 False negatives, 0 False positives"
    assert text[9].startswith("Average duty cycle: ") and text[10] == "Average period: 0.032 s"
    assert len(text) == 11
    assert (session / window["trace_png"]).is_file() and (session / window["trace_csv"]).is_file()


def test_bench_stream_energy_through_the_interface_board_and_lpm01a(models_dir, tmp_path):
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    V, FREQ, START = 3.0, 1000, 300
    truth = write_test_stream(tmp_path / "sd_card")
    (entry,) = load_truth(truth)
    END = START + int(entry.length_s * FREQ)  # the DUT's start and stop timestamps, as the monitor sees them
    current = np.full(END + 400, 1e-3)
    current[START:END] = 4e-3
    waveform = current * V / FREQ  # J per sample
    recording = recording_at_truth([list(w) for w in entry.windows], entry.length_s)
    firmware = prepare_firmware(load_board("qemu-mps2-an386"), get_benchmark("sww01"), models_dir / "sww01.tflite",
                                "energy")
    with emulated_sww_bench(firmware.build.elf, truth, entry, recording, tmp_path / "marks.txt") as board:
        monitor = LPM01ASim(waveform, events=(START, END)).start()
        try:
            proc = _run("--board", "nucleo-l4r5zi", "--target", "hardware", "--no-flash", "--io-manager",
                        board.port, "--mode", "energy", "--benchmark", "sww01", "--power-monitor", "lpm01a",
                        "--monitor-port", monitor.port, "--stream", str(truth), "--models", str(models_dir),
                        "--sessions", str(tmp_path / "s"))
        finally:
            monitor.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (session,) = (tmp_path / "s").iterdir()
    entry_json = json.loads((session / "results.json").read_text())["benchmarks"]["sww01"]
    assert entry_json["status"] == "complete" and entry_json["emulated"] is False
    expected = waveform[START:END].sum()
    assert entry_json["summary"]["median_energy_per_inference_j"] == pytest.approx(expected, rel=1e-3)
    assert entry_json["summary"]["valid"] is True
    text = (session / "sww01" / "energy" / "results.txt").read_text()
    (median,) = MEDIAN_LINE.findall(text)
    assert float(median) == pytest.approx(expected * 1e6, rel=1e-3)
    assert text.splitlines()[-4:] == ["Accuracy: 4 True positives, 0 False negatives, 0 False positives",
                                      "Average duty cycle: 0.028125", "Average period: 0.032 s",
                                      "Estimated throughput: 1111.1 inf./sec."]
    assert "emulated" not in text
