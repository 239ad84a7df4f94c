"""sww01 on a bench, end to end: `tinyrig run --target hardware --io-manager PORT --mode streaming`,
and the UART path of a board without an interface board (`--port PORT`, no --io-manager).

The interface board is the pty simulation speaking the board's protocol (name, `dut` relay,
record_detections, play, print_detections, print_dutycycle in the board firmware's formats);
behind it the real sww01 firmware runs under QEMU and receives the same `stop`/`start`/`stop`
the runner sends, streaming tinyrig's shipped test stream. The board's pin record is simulated:
a detection shortly after each wakeword's start (plus one false one) and a processing pulse per
hop. The session must score it as the runner does and write the runner's lines.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.hil.dut.sww_streams import Event, build_stream, write_stream, write_test_stream
from tinyrig.hil.modes.sww_scoring import load_truth
from tinyrig.hil.targets.qemu import QemuTarget
from tinyrig_testing import require_tools
from tinyrig_testing.sim_io_manager import recording_at_truth
from tinyrig_testing.sww_bench import emulated_sww_bench

pytestmark = pytest.mark.qemu


def quiet_time_ms(windows, length_s: float) -> int:
    """A time (ms after the origin) no wakeword's scoring span [start, stop + 2 s] reaches."""
    for t in range(1000, int(length_s * 1000) - 1000, 100):
        if all(not (start - 0.5 <= t / 1000 <= stop + 2.5) for start, stop in windows):
            return t
    raise AssertionError("the test stream has no quiet second")


def test_stream_through_the_interface_board(models_dir, tmp_path):
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    truth = write_test_stream(tmp_path / "sd_card")
    (entry,) = load_truth(truth)
    false_at = quiet_time_ms(entry.windows, entry.length_s)
    recording = recording_at_truth([list(w) for w in entry.windows], entry.length_s, extra_ms=(false_at,))
    firmware = prepare_firmware(load_board("qemu-mps2-an386"), get_benchmark("sww01"), models_dir / "sww01.tflite")
    with emulated_sww_bench(firmware.build.elf, truth, entry, recording, tmp_path / "marks.txt") as board:
        proc = subprocess.run(
            [sys.executable, "-m", "tinyrig.cli", "run", "--board", "nucleo-l4r5zi", "--target", "hardware",
             "--no-flash", "--io-manager", board.port, "--mode", "streaming", "--benchmark", "sww01",
             "--stream", str(truth), "--models", str(models_dir), "--sessions", str(tmp_path / "s"),
             "--no-record"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The runner's order: DUT stop/start, board record + play, DUT stop, then the board's records.
    stream_commands = [c for c in board.board_commands if c.split()[0] != "dut" or c in ("dut stop", "dut start")]
    assert stream_commands[-7:] == ["dut stop", "dut start", "record_detections", f"play {entry.wav_file}",
                                    "dut stop", "print_detections", "print_dutycycle"]
    (session,) = (tmp_path / "s").iterdir()
    result = json.loads((session / "results.json").read_text())["benchmarks"]["sww01"]
    assert result["status"] == "complete" and result["emulated"] is False
    (stream,) = result["streaming"]["streams"]
    # The DUT's own answer to stop: its activations, one per hop it processed before stop.
    assert stream["hops"] > 0 and len(stream["activations"]) == stream["hops"]
    assert stream["detections_ms"] == recording.detections_ms
    text = (session / "sww01" / "streaming" / "results.txt").read_text().splitlines()
    # 90 ticks busy per 3200-tick hop, over the board's first 100 pulses.
    assert text == ["Accuracy: 4 True positives, 0 False negatives, 1 False positives",
                    "Average duty cycle: 0.028125", "Average period: 0.032 s",
                    "Estimated throughput: 1111.1 inf./sec."]


def test_stream_over_the_uart_without_an_interface_board(models_dir, tmp_path):
    """The runner's stream_wav_uart.py path: every hop loaded with `db` and run with
    extract_uart_stream on the real firmware (under QEMU, reached as a board's console). Two
    short files, so the DUT's state carries from one to the next as the host reference's must:
    every hop's features equal the host reference's, its outputs tflite-micro's, and the DUT's
    detections score 1 TP per file; nothing is timed, so no duty-cycle lines."""
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    entries = []
    for name, keyword_at, level in (("a", 1.0, -26.0), ("b", 1.53, -20.0)):
        samples, windows = build_stream(3.5, [Event("keyword", keyword_at, level)])
        single = write_stream(tmp_path / "files", name, samples, windows)
        entries += json.loads(single.read_text())
    truth = tmp_path / "files" / "two.json"
    truth.write_text(json.dumps(entries))
    firmware = prepare_firmware(load_board("qemu-mps2-an386"), get_benchmark("sww01"), models_dir / "sww01.tflite")
    with QemuTarget(load_board("qemu-mps2-an386")) as qemu:
        run = qemu.start(firmware.build.elf)
        proc = subprocess.run(
            [sys.executable, "-m", "tinyrig.cli", "run", "--board", "nucleo-l4r5zi", "--target", "hardware",
             "--no-flash", "--port", run.url, "--mode", "streaming", "--benchmark", "sww01", "--stream", str(truth),
             "--models", str(models_dir), "--sessions", str(tmp_path / "s"), "--no-record"],
            capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (session,) = (tmp_path / "s").iterdir()
    result = json.loads((session / "results.json").read_text())["benchmarks"]["sww01"]
    summary = result["streaming"]["summary"]
    hops = 2 * (int(3.5 * 16000) // 512)
    assert summary["hops"] == hops and summary["checked_hops"] == hops
    assert summary["features_equal"] == hops and summary["outputs_equal"] == hops
    assert summary["duty_cycle"] is None and summary["throughput"] is None
    text = (session / "sww01" / "streaming" / "results.txt").read_text().splitlines()
    assert text == ["Accuracy: 1 True positives, 0 False negatives, 0 False positives"] * 2
    log = (session / "log.txt").read_text()
    assert "extract_uart_stream" in log and "db load 1024" in log
