"""The official energy set-up end to end, with simulated instruments and real firmware.

`tinyrig run --target hardware --mode energy --io-manager PORT --power-monitor lpm01a` as on a
bench: the DUT's console reaches the host only through the interface board (simulated on a pty,
relaying to kws01's energy firmware running under QEMU), the LPM01A (simulated on a pty, its real
protocol) supplies the energy trace with the timestamp-pin events. The session must complete with
the energy the trace holds between the events, and its result files must say so.
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
from tinyrig.hil.targets.qemu import QemuTarget
from tinyrig_testing import require_tools
from tinyrig_testing.sim_io_manager import IoManagerSim
from tinyrig_testing.sim_lpm01a import LPM01ASim

V, FREQ = 3.0, 1000
START = 200  # the sample the first timestamp-pin event precedes
# The checker's line the energy result must carry (the runner prints the median this way).
MEDIAN_LINE = re.compile(r"^Median energy cost is ([0-9.]+) uJ/inf\.$", re.M)


@pytest.mark.parametrize("window_s", [1.0, 10.5], ids=["1s-window", "10.5s-window"])
def test_energy_through_the_interface_board_and_lpm01a(models_dir, tmp_path, window_s):
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    END = START + int(window_s * FREQ)  # the second event: the window the monitor measures
    kws = get_benchmark("kws01")
    firmware = prepare_firmware(load_board("qemu-mps2-an386"), kws, models_dir / "kws01.tflite", "energy")
    current = np.full(END + 300, 2e-3)
    current[START:END] = 9e-3
    waveform = current * V / FREQ  # J per sample
    with QemuTarget(load_board("qemu-mps2-an386")) as qemu:
        run = qemu.start(firmware.build.elf)
        board = IoManagerSim(run.url).start()
        monitor = LPM01ASim(waveform, events=(START, END)).start()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "tinyrig.cli", "run", "--board", "nucleo-l4r5zi", "--target", "hardware",
                 "--no-flash", "--io-manager", board.port, "--mode", "energy", "--benchmark", "kws01",
                 "--power-monitor", "lpm01a", "--monitor-port", monitor.port, "-n", "2", "-w", "0",
                 "--models", str(models_dir), "--sessions", str(tmp_path), "--no-record"],
                capture_output=True, text=True, timeout=600)
        finally:
            board.close()
            monitor.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (session,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    results = json.loads((session / "results.json").read_text())
    entry = results["benchmarks"]["kws01"]
    assert entry["status"] == "complete" and not entry["emulated"]
    expected_per_inference = waveform[START:END].sum() / 2
    assert entry["summary"]["median_energy_per_inference_j"] == pytest.approx(expected_per_inference, rel=1e-3)
    # Every command reached the DUT through the board, in the relayed db chunk size.
    db = [c for c in board.dut_commands if c.startswith("db ") and not c.startswith("db load")]
    assert db and max(len(c) - 3 for c in db) <= 52
    assert any(c.startswith("infer 2 0") for c in board.dut_commands)
    text = (session / "kws01" / "energy" / "results.txt").read_text()
    assert text.startswith(f"Power Edition Output\nEnergy data for trial 0\n  Elapsed time  : {window_s:.1f}")
    assert "emulated" not in text
    if window_s < 10:
        # On hardware, but windows under 10 s: the runner's ERROR line stands where the median would be.
        assert text.splitlines()[-1] == ("ERROR: Not valid for submission.  "
                                         "All inference times must be at least 10 seconds.")
        assert not MEDIAN_LINE.search(text)
    else:
        # A valid window: the median energy line the submission checker parses, equal to the trace's.
        (median,) = MEDIAN_LINE.findall(text)
        assert float(median) == pytest.approx(expected_per_inference * 1e6, rel=1e-3)
