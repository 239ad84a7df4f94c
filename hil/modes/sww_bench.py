"""sww01 on a bench: the MLPerf Tiny runner's `stream` step through the Enhanced Interface Board.

The board (STM32H573I-DK running the tinyML interface firmware) plays a wav from its SD card to
the DUT over I2S, timestamps the DUT's detection pin (whole ms, 10 ms lock-out) and its
processing pin (10 us ticks, the first 100 edges), and relays the DUT's console. Per truth entry,
as script.py's _ScriptStreamStep does it:

    dut stop, dut start         (the DUT listens; its first frame pulses the detection pin)
    record_detections           (the board zeroes its timer and clears its records)
    play <wav>                  (blocks until the wav has played)
    0.25 s, then dut stop       (the DUT answers with its activations)
    print_detections, print_dutycycle

and the record is scored by the same functions as the emulated stream (sww_scoring), so the
results.txt lines are the same. With a power monitor (energy mode) the monitor records from
before `start` to after `stop`: the energy firmware pulses the timestamp pin at both.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tinyrig.codegen.audio_frontend import SPEC
from tinyrig.hil.dut.audio_files import SAMPLE_RATE, check_wav, read_wav
from tinyrig.hil.modes import sww_scoring
from tinyrig.hil.results.schema import StreamRecord

if TYPE_CHECKING:
    from tinyrig.hil.dut.client import Dut
    from tinyrig.hil.dut.io_manager import IoManager
    from tinyrig.hil.instruments.energy_sources import TraceSource
    from tinyrig.hil.instruments.trace import PowerTrace

SETTLE_S = 0.25  # the runner waits this long after play before `stop` (the DUT is still busy)
PLAY_MARGIN_S = 10.0  # the runner's play timeout: the wav's length plus this
# `stop` prints one activation per hop (up to 40,000: ~6 characters each) and may be relayed at the
# energy set-up's 9600 baud: its answer can take minutes on the 20-minute test.
STOP_CHARS_PER_HOP = 6
SLOWEST_BAUD = 9600
_STREAM_RE = re.compile(r"m-stream-\[hops=(\d+),lost=(\d+),detections=(\d+),audio_hops=(\d+)\]")


class BenchStreamError(RuntimeError):
    """The interface board's record of a stream cannot be scored."""


@dataclass(frozen=True)
class BenchSource:
    """A truth entry and how long its wav plays (the wav itself is on the board's SD card)."""

    entry: sww_scoring.TruthEntry
    length_s: float


def bench_sources(truth: Path) -> list[BenchSource]:
    """The truth JSON's entries with their lengths: `length_sec` (the runner's files have it), else
    the wav beside the JSON (also checked as a 16 kHz 16-bit PCM file when it is there)."""
    sources = []
    for entry in sww_scoring.load_truth(truth):
        wav = Path(truth).parent / entry.wav_file
        if wav.is_file():
            check_wav(wav)
        if entry.length_s is not None:
            length = entry.length_s
        elif wav.is_file():
            length = len(read_wav(wav)) / SAMPLE_RATE
        else:
            raise sww_scoring.TruthError(f"{truth}: entry '{entry.wav_file}' has no length_sec and its wav is not "
                                         f"beside the truth file: the bench needs one to time the playback")
        sources.append(BenchSource(entry, length))
    return sources


def parse_stop(lines: list[str], length_s: float) -> tuple[int, int, int, list[int]]:
    """(hops, lost, audio hops, activations) from the DUT's answer to `stop`. tinyrig's firmware
    adds an m-stream-[...] line; another DUT's answer has only the activations (the runner reads
    nothing else), so hops are then counted from them."""
    from tinyrig.hil.modes.streaming import StreamingError, parse_activations

    try:
        activations = parse_activations(lines)
    except StreamingError:
        activations = []  # as the runner: "No activation data found."
    status = next((m for m in map(_STREAM_RE.search, lines) if m), None)
    if status is not None:
        hops, lost, _, audio_hops = (int(v) for v in status.groups())
        return hops, lost, audio_hops, activations
    return len(activations), 0, int(length_s * SAMPLE_RATE) // SPEC.hop, activations


def play_on_bench(dut: Dut, board: IoManager, source: BenchSource, *,
                  power: TraceSource | None = None) -> tuple[StreamRecord, PowerTrace | None]:
    """One wav through the interface board, scored as the runner scores it; with `power`, the
    power trace from before `start` to after `stop`."""
    started = time.monotonic()
    entry = source.entry
    dut.command("stop")  # in case a stream was left running (the DUT says so, harmlessly)
    if power is not None:
        power.begin_window()
    dut.command("start")
    board.record_detections()
    board.play(entry.wav_file, timeout_s=source.length_s + PLAY_MARGIN_S)
    time.sleep(SETTLE_S)
    hops_played = int(source.length_s * SAMPLE_RATE) // SPEC.hop
    stop_lines = dut.command("stop", timeout_s=30.0 + hops_played * STOP_CHARS_PER_HOP * 10 / SLOWEST_BAUD)
    trace = power.end_window() if power is not None else None
    hops, lost, audio_hops, activations = parse_stop(stop_lines, source.length_s)
    detections = board.print_detections()
    starts, stops = board.print_dutycycle()
    if not detections:
        raise BenchStreamError(f"{entry.wav_file}: the interface board recorded no detection, not even the DUT's "
                               f"first-frame pulse that marks the start: is the detection pin wired to the board?")
    try:
        duty = sww_scoring.duty_cycle(starts, stops)
    except ValueError as exc:
        raise BenchStreamError(f"{entry.wav_file}: {exc} from the interface board: is the processing pin wired "
                               f"to it?") from None
    score = sww_scoring.score_detections(detections, entry.windows)
    record = StreamRecord(
        wav_file=entry.wav_file, length_s=source.length_s, audio_hops=audio_hops, hops=hops, lost=lost,
        detections_ms=detections, true_positives=list(score.true_positives),
        false_negatives=list(score.false_negatives), false_positives=list(score.false_positives),
        duty_cycle=duty.duty_cycle, period_s=duty.period_s, processing_s=duty.processing_s,
        throughput=duty.throughput, activations=activations,
        # A board has no per-hop trace: its features and outputs are not checked here.
        features_equal=0, outputs_equal=None, checked_hops=0, wall_s=time.monotonic() - started,
        detection_windows=[list(w) for w in entry.windows])
    return record, trace
