"""The streaming wakeword firmware under real QEMU: audio in virtual time, pins, scoring.

Builds the sww01 firmware (perf) for qemu-mps2-an386 and plays tinyrig's shipped test stream
into it. Each hop is checked: the firmware's features equal the numpy host reference byte for
byte, and its model outputs equal the tflite-micro interpreter's on the same window.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tinyrig_testing import require_tools
from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.codegen.audio_frontend import build_tables
from tinyrig.hil.dut.audio_features import split_hops, stream_features
from tinyrig.hil.dut.audio_files import write_pcm
from tinyrig.hil.dut.client import Dut, DutError
from tinyrig.hil.modes import streaming
from tinyrig.hil.modes.sww_scoring import TruthEntry, load_truth
from tinyrig.hil.modes.sww_timeline import PinFunctions
from tinyrig.hil.targets.qemu import QemuTarget
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.hil.dut.sww_streams import Event, build_stream, default_stream, write_test_stream

pytestmark = pytest.mark.qemu
BOARD = "qemu-mps2-an386"


@pytest.fixture(scope="module", autouse=True)
def _tools():
    require_tools("qemu-system-arm", "arm-none-eabi-gcc", "gcc")


@pytest.fixture(scope="module")
def sww(models_dir):
    from tinyrig.build.firmware_cache import prepare_firmware

    model = models_dir / "sww01.tflite"
    firmware = prepare_firmware(load_board(BOARD), get_benchmark("sww01"), model)
    reference = ReferenceModel(model, get_benchmark("sww01"))
    scale, zero_point = reference.input_quantization()
    return firmware, reference, build_tables(scale, zero_point)


class Streamer:
    """One emulator running the sww01 firmware with its pins watched, and its DUT client."""

    def __init__(self, elf: Path, workdir: Path, icount_shift: int = 0):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.shift = icount_shift
        self.target = QemuTarget(load_board(BOARD), icount_shift=icount_shift, marker_log=workdir / "marks.txt",
                                 stream_pins=True, icount_sleep=False)
        self.run = self.target.start(elf)
        self.dut = Dut(self.run.url)
        self.dut.open()
        self.functions = PinFunctions.from_elf(elf)

    def play(self, samples, truth_entry, tables, reference, name="s"):
        return streaming.run_stream(self.dut, self.run.markers.read_new, lambda: self.run.exit_code() is None,
                                    self.functions, samples, truth_entry, self.workdir / name,
                                    ns_per_instruction=2**self.shift, tables=tables, reference=reference)

    def close(self):
        self.dut.close()
        self.target.stop()


@pytest.fixture(scope="module")
def streamer(sww, tmp_path_factory):
    s = Streamer(sww[0].build.elf, tmp_path_factory.mktemp("stream"))
    yield s
    s.close()


def test_shipped_stream_detections_match_truth(sww, streamer, tmp_path):
    firmware, reference, tables = sww
    truth = load_truth(write_test_stream(tmp_path))[0]
    samples, windows = default_stream()
    result = streamer.play(samples, truth, tables, reference)
    assert result.counts == (4, 0, 0), (result.detections_ms, windows)
    assert result.hops == result.audio_hops == len(samples) // 512 and result.lost == 0
    # Every hop: firmware features == host reference, firmware outputs == tflite-micro.
    assert result.features_equal == result.outputs_equal == result.checked_hops == result.hops
    # Each keyword is detected inside its window (relative to the first-frame pulse).
    origin = result.detections_ms[0]
    for start, stop in windows:
        assert any(start <= (t - origin) / 1000 <= stop + 2.0 for t in result.detections_ms[1:])
    # The period is the audio's (32 ms per hop), the processing a few ms of virtual time.
    assert result.period_s == pytest.approx(0.032, rel=1e-4)
    assert 0.01 < result.duty_cycle < 0.2
    assert result.throughput == pytest.approx(1 / result.processing_s)


def test_rerun_gives_identical_figures(sww, streamer, tmp_path):
    firmware, reference, tables = sww
    samples, windows = build_stream(8.0, [Event("keyword", 2.3, -26.0), Event("distractor", 5.0, -24.0, seed=7)])
    truth = TruthEntry("short.wav", tuple(map(tuple, windows)), 8.0)
    first = streamer.play(samples, truth, tables, None, "a")
    again = streamer.play(samples, truth, tables, None, "b")  # same emulator, later in virtual time
    fresh = Streamer(firmware.build.elf, tmp_path / "fresh")
    try:
        third = fresh.play(samples, truth, tables, None, "c")  # a new emulator: another boot, another start time
    finally:
        fresh.close()
    for other in (again, third):
        assert (other.detections_ms, other.counts, other.duty_cycle, other.period_s, other.processing_s,
                other.activations) == (first.detections_ms, first.counts, first.duty_cycle, first.period_s,
                                       first.processing_s, first.activations)


def test_overloaded_dut_loses_audio(sww, streamer, tmp_path):
    """A slower virtual clock (QEMU icount shift: 2^shift ns per instruction) until processing a
    hop takes twice the 32 ms hop: the ring overflows and hops are lost; the pins show it."""
    firmware, reference, tables = sww
    samples, _ = build_stream(4.0, [])
    truth = TruthEntry("noise.wav", (), 4.0)
    at_full_speed = streamer.play(samples, truth, tables, None, "fast")
    first = max(1, math.ceil(math.log2(2 * 0.032 / at_full_speed.processing_s)))
    # Two overloads: where the producer overtakes the hop being processed depends on the timing,
    # and a hop read from the ring while it is overwritten shows as features the host disagrees with.
    for shift in (first, first + 1):
        slow = Streamer(firmware.build.elf, tmp_path / f"slow{shift}", icount_shift=shift)
        try:
            result = slow.play(samples, truth, tables, None)
        finally:
            slow.close()
        assert result.processing_s == pytest.approx(at_full_speed.processing_s * 2**shift, rel=0.01)
        assert result.lost > 0 and result.hops + result.lost == result.audio_hops
        assert result.duty_cycle > 0.99  # busy back to back
        # The features of the hops it did process still equal the host reference's (gaps included).
        assert result.features_equal == result.checked_hops == result.hops, f"icount shift {shift}"


def test_uart_path_features_equal_host_reference(sww, streamer):
    """db load 1024 + extract_uart_stream, the runner's stream_wav_uart.py path."""
    firmware, reference, tables = sww
    dut = streamer.dut
    rng = np.random.default_rng(4)
    samples = (rng.normal(0, 3000, 512 * 4)).astype(np.int16)
    dut.command("stop")  # the UART path runs while streaming is idle
    expected = stream_features(samples, tables)
    got = []
    for hop in split_hops(samples, 512):
        data = hop.astype("<i2").tobytes()
        answer = dut.command("db load 1024")
        assert any("Expecting 1024" in line for line in answer)
        for offset in range(0, 1024, 512):
            answer = dut.command("db " + data[offset : offset + 512].hex())
        assert any(line.startswith("m-load-done") for line in answer)
        lines = dut.command("extract_uart_stream")
        features = next(line for line in lines if line.startswith("m-features-["))
        got.append([int(v) for v in features[len("m-features-[") : -1].split(",")])
        activations = next(line for line in lines if line.startswith("m-activations-["))
        assert all(-128 <= int(v) <= 127 for v in activations[len("m-activations-[") : -1].split(","))
    got = np.array(got)
    # The UART path continues the history of the last stream, so compare from the third hop on,
    # when the window holds only these samples and the pre-emphasis sample is ours.
    assert np.array_equal(got[2:], expected[2:])


def test_protocol_commands_and_errors(streamer):
    dut = streamer.dut
    assert any(line.startswith("m-state-[idle]") for line in dut.command("state"))
    assert any("already stopped" in line for line in dut.command("stop"))
    # Host files only in the folder the bench named first (its private one): nothing else is
    # read into the ring buffer or written as a trace.
    folder = dut.host_folder()
    write_pcm(folder / "pin.pcm", np.zeros(4 * 320, np.int16))
    dut.command(f"tinyrig audio {folder}/pin.pcm")  # pins the folder, whichever test ran before
    with pytest.raises(DutError, match=r"tinyrig audio: cannot read"):
        dut.command(f"tinyrig audio {folder}/absent.pcm")
    for command in ("tinyrig audio /etc/passwd", "tinyrig trace /etc/passwd", f"tinyrig trace {folder}/../x.bin"):
        with pytest.raises(DutError, match=r"refused"):
            dut.command(command)
    with pytest.raises(DutError, match=r"Unknown command: bogus"):
        dut.command("bogus")
    assert "audio" in dut.command("tinyrig caps")[-1]
    answer = dut.command("db load 4")
    dut.command("db 01000200")
    assert any(line.startswith("m-buff-ptr-4") for line in dut.command("db getptr"))
    assert any(line.startswith("[1, 2]") for line in dut.command("db print_i16 2"))
    dut.command("db setptr 2")
    assert any(line.startswith("m-buff-ptr-2") for line in dut.command("db getptr"))
    assert answer and dut.command("help")
