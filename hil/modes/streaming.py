"""Streaming mode (sww01): play audio into the DUT in virtual time, record its pins, score.

Per wav file of the truth JSON, the steps of the MLPerf Tiny runner's `stream` step, with the
emulator standing in for the interface board:

  tinyrig audio PATH / tinyrig trace PATH   the emulated I2S input and a per-hop record
  stop, start                               as the runner sends them
  (the audio plays: the firmware processes each hop as it arrives in virtual time, pulses the
   detection pin, and marks the end of the audio)
  stop                                      the DUT's answer holds its activations

The pin log gives the detection times and the processing pulses in virtual time
(sww_timeline); sww_scoring scores them as the runner does. Every hop is also checked: the
firmware's features against the numpy host reference (byte for byte), and its model outputs
against the tflite-micro interpreter run on the firmware's own features.

The mode (`StreamingMode`, registered as `streaming`) needs a QEMU target started with
`stream_pins=True, icount_sleep=False` and a marker log, the perf firmware of a streaming
benchmark (its ELF for the pin functions) and the DUT client. On a board (`--target hardware
--io-manager PORT`) the interface board plays and times the stream instead, and a board without
one streams over its UART, untimed (sww_board.py), scored by the same functions.
"""

from __future__ import annotations

import itertools
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from typing import TYPE_CHECKING

from tinyrig.codegen.audio_frontend import SPEC, FrontEndTables, build_tables
from tinyrig.hil.dut.audio_features import hop_sequence_features, model_windows, split_hops
from tinyrig.hil.dut.audio_files import SAMPLE_RATE, AudioFileError, check_wav, read_wav, write_pcm
from tinyrig.hil.dut.client import Dut, DutError
from tinyrig.hil.modes import sww_scoring
from tinyrig.hil.modes.base import Mode, ModeContext, ModeOptionError, ModeSettings
from tinyrig.hil.modes.stream_session import finish_streams, record_stream, start_streams
from tinyrig.hil.modes.sww_board import check_bench_truth, run_on_bench, run_over_uart
from tinyrig.hil.modes.sww_timeline import AUDIO_TICK, END_OF_AUDIO, PinFunctions, StreamTimeline, build_timeline
from tinyrig.hil.results.schema import StreamRecord

if TYPE_CHECKING:
    from tinyrig.hil.dut.reference import ReferenceModel
    from tinyrig.hil.targets.base import Target
    from tinyrig.hil.targets.pinwatch import MarkerStore

TRACE_RECORD = 48  # bytes per hop in the firmware's trace (src/sww/audio_source.h)
_STREAM_RE = re.compile(r"m-stream-\[hops=(\d+),lost=(\d+),detections=(\d+),audio_hops=(\d+)\]")
_AUDIO_RE = re.compile(r"m-audio-\[(\d+)\]")
_STREAM_NUMBERS = itertools.count(1)  # file names of the streams in a DUT's host folder


class StreamingError(RuntimeError):
    """The stream could not be played or its record does not add up."""


# The records are the results schema's (hil/results/schema.py): the mode fills them, results.json keeps them.
StreamResult = StreamRecord


@dataclass
class Trace:
    """The firmware's per-hop record: hop numbers, features, outputs."""

    hops: np.ndarray  # uint32 [n]
    features: np.ndarray  # int8 [n, 40]
    outputs: np.ndarray  # int8 [n, 3]

    @classmethod
    def read(cls, path: Path) -> "Trace":
        data = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
        if data.size % TRACE_RECORD:
            raise StreamingError(f"{path}: {data.size} bytes is not whole {TRACE_RECORD}-byte hop records")
        records = data.reshape(-1, TRACE_RECORD)
        mel = SPEC.mel_bins
        return cls(records[:, :4].copy().view("<u4").reshape(-1), records[:, 4 : 4 + mel].view(np.int8),
                   records[:, 4 + mel : 7 + mel].view(np.int8))


def parse_activations(lines: list[str]) -> list[int]:
    """The `stop` answer's "target activations:" list, as the runner's array_from_strings reads it."""
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("target activations:"))
    except StopIteration:
        raise StreamingError("no 'target activations:' in the answer to stop") from None
    text = "".join(lines[start + 1 :])
    match = re.fullmatch(r"\s*\[(.*)\]\s*", text, re.DOTALL)
    if not match:
        raise StreamingError(f"activations are not one bracketed list: {text[:80]!r}")
    return [int(v) for v in match.group(1).split(",") if v.strip()]


def wait_for_end(read_stores: Callable[[], list[MarkerStore]], functions: PinFunctions, alive: Callable[[], bool],
                 timeout_s: float) -> list[MarkerStore]:
    """Collects pin stores until the firmware marks the end of the audio."""
    stores: list[MarkerStore] = []
    deadline = time.monotonic() + timeout_s
    ticked = False
    while True:
        for store in read_stores():
            stores.append(store)
            kind = functions.classify(store.pc)
            ticked |= kind == AUDIO_TICK
            if ticked and kind == END_OF_AUDIO:
                return stores
        if not alive():
            raise StreamingError("the emulator stopped while the audio was playing")
        if time.monotonic() > deadline:
            raise StreamingError(f"the audio did not finish within {timeout_s:.0f} s (wall clock)")
        time.sleep(0.02)


def check_hops(trace: Trace, samples: np.ndarray, tables: FrontEndTables,
               reference: ReferenceModel | None) -> tuple[int, int | None]:
    """Hops whose features equal the host reference, and whose outputs equal tflite-micro's."""
    hops = split_hops(samples, SPEC.hop)
    if trace.hops.size and int(trace.hops.max()) >= len(hops):
        raise StreamingError(f"the trace names hop {int(trace.hops.max())}; the audio has {len(hops)}")
    expected = hop_sequence_features(hops[trace.hops], tables)
    features_equal = int(np.sum(np.all(expected == trace.features, axis=1)))
    if reference is None:
        return features_equal, None
    outputs_equal = 0
    for window, got in zip(model_windows(trace.features, SPEC.frames), trace.outputs):
        outputs_equal += reference.run(window.tobytes()).raw == got.tobytes()
    return features_equal, outputs_equal


def run_stream(dut: Dut, read_stores: Callable[[], list[MarkerStore]], alive: Callable[[], bool],
               functions: PinFunctions, samples: np.ndarray, entry: sww_scoring.TruthEntry, workdir: Path, *,
               ns_per_instruction: int, tables: FrontEndTables, reference: ReferenceModel | None,
               timeout_s: float | None = None, stores_out: list[MarkerStore] | None = None) -> StreamResult:
    """One wav through the emulated DUT; `stores_out`, when given, receives the stream's pin stores
    (energy mode times the processing pulses from them by estimated cycles)."""
    started = time.monotonic()
    if len(samples) < 2 * SPEC.hop:
        raise StreamingError(f"{entry.wav_file}: {len(samples)} samples; a stream needs at least 2 hops "
                             f"({2 * SPEC.hop} samples) for a duty cycle")
    workdir.mkdir(parents=True, exist_ok=True)
    # The firmware opens these by name through semihosting, only in the one folder the
    # connection first named (not the session folder, which may have any name): one pair per stream.
    scratch = dut.host_folder()
    name = f"s{next(_STREAM_NUMBERS)}"
    try:
        return _play(dut, read_stores, alive, functions, samples, entry, workdir, scratch, name, started,
                     ns_per_instruction=ns_per_instruction, tables=tables, reference=reference, timeout_s=timeout_s,
                     stores_out=stores_out)
    finally:
        for leftover in scratch.glob(f"{name}.*"):
            leftover.unlink(missing_ok=True)


def _play(dut: Dut, read_stores: Callable[[], list[MarkerStore]], alive: Callable[[], bool],
          functions: PinFunctions, samples: np.ndarray, entry: sww_scoring.TruthEntry, workdir: Path, scratch: Path,
          name: str, started: float, *, ns_per_instruction: int, tables: FrontEndTables, reference: ReferenceModel | None,
          timeout_s: float | None, stores_out: list[MarkerStore] | None) -> StreamResult:
    audio = write_pcm(scratch / f"{name}.pcm", samples)
    trace_path = scratch / f"{name}.trace"
    answer = dut.command(f"tinyrig audio {audio}")
    audio_line = next((m for m in map(_AUDIO_RE.search, answer) if m), None)
    if audio_line is None:
        raise DutError("no m-audio-[hops] line: does the firmware stream audio (tinyrig caps: audio)?",
                       "tinyrig audio", answer)
    audio_hops = int(audio_line.group(1))
    dut.command(f"tinyrig trace {trace_path}")
    dut.command("stop")  # as the runner: in case a stream was left running
    read_stores()  # forget pin activity from before this stream
    dut.command("start")
    length_s = len(samples) / SAMPLE_RATE
    stores = wait_for_end(read_stores, functions, alive, timeout_s or 60.0 + 2.0 * length_s)
    if stores_out is not None:
        stores_out.extend(stores)
    lines = dut.command("stop")
    status = next((m for m in map(_STREAM_RE.search, lines) if m), None)
    if status is None:
        raise DutError("no m-stream-[...] line in the answer to stop", "stop", lines)
    hops, lost, detections, _ = (int(v) for v in status.groups())
    activations = parse_activations(lines)

    hop_ns = SPEC.hop * 1_000_000_000 // SAMPLE_RATE
    timeline = build_timeline(stores, functions, hop_ns, ns_per_instruction)
    check_timeline(timeline, hops, detections)
    timestamps = sww_scoring.interface_timestamps_ms([t / 1e9 for t in timeline.detections_ns])
    score = sww_scoring.score_detections(timestamps, entry.windows)
    duty = sww_scoring.duty_cycle([t / 1e9 for t in timeline.processing_starts_ns],
                                  [t / 1e9 for t in timeline.processing_stops_ns])

    shutil.copyfile(trace_path, workdir / "trace.bin")  # kept in the session: hop, features, outputs
    trace = Trace.read(trace_path)
    logged = min(len(activations), len(trace.hops))  # the DUT keeps the first SWW_ACTIVATION_LOG hops
    if len(trace.hops) != hops or not np.array_equal(trace.outputs[:logged, 0], np.array(activations[:logged], np.int8)):
        raise StreamingError(f"the trace ({len(trace.hops)} hops) disagrees with the DUT's activations ({hops} hops)")
    features_equal, outputs_equal = check_hops(trace, samples, tables, reference)
    return StreamResult(
        wav_file=entry.wav_file, length_s=entry.length_s or length_s, audio_hops=audio_hops, hops=hops, lost=lost,
        detections_ms=timestamps, true_positives=list(score.true_positives),
        false_negatives=list(score.false_negatives), false_positives=list(score.false_positives),
        duty_cycle=duty.duty_cycle, period_s=duty.period_s, processing_s=duty.processing_s,
        throughput=duty.throughput, activations=activations, features_equal=features_equal,
        outputs_equal=outputs_equal, checked_hops=len(trace.hops), wall_s=time.monotonic() - started,
        detection_windows=[list(w) for w in entry.windows])


def check_timeline(timeline: StreamTimeline, hops: int, detections: int) -> None:
    """The pin record and the DUT's own counters must tell the same story."""
    if not timeline.ended:
        raise StreamingError("the pin log has no end-of-audio mark")
    if len(timeline.processing_stops_ns) != hops:
        raise StreamingError(f"{len(timeline.processing_stops_ns)} processing pulses on the pin, the DUT processed {hops} hops")
    if len(timeline.detections_ns) != detections:
        raise StreamingError(f"{len(timeline.detections_ns)} detection pulses on the pin, the DUT counted {detections}")


def stream_sources(truth: Path) -> list[tuple[sww_scoring.TruthEntry, Path]]:
    """Each truth entry with its wav file, which lies beside the truth JSON (as in the runner's
    dataset folder, DIR/sww01/sww_long_test.json + DIR/sww01/long_wav.wav)."""
    entries = sww_scoring.load_truth(truth)
    sources = []
    for entry in entries:
        wav = Path(truth).parent / entry.wav_file
        if not wav.is_file():
            raise sww_scoring.TruthError(f"{truth}: wav_file '{entry.wav_file}' not found (looked for {wav})")
        check_wav(wav)
        sources.append((entry, wav))
    return sources


class StreamingMode(Mode):
    """`--mode streaming`: the runner's `stream` step in emulation (see the module docstring).

    What it needs from the run: a QEMU target created with TargetSettings(stream_pins=True,
    icount_sleep=False) and a marker log (RunOptions.target_settings does this for this mode),
    the perf firmware of a streaming benchmark, and ModeSettings.stream (None: the shipped stream).
    """

    name = "streaming"

    def check(self, settings: ModeSettings, target: type[Target]) -> None:
        if target.kind == "hardware" and settings.io_manager:  # the interface board plays the wavs
            check_bench_truth(settings)
            return
        if target.kind not in ("qemu", "hardware"):  # hardware without a board: the UART path (sww_uart)
            raise ModeOptionError(f"streaming mode runs on the qemu target or on a board (through an interface "
                                  f"board, --io-manager PORT, or over its UART); {target.kind} has no audio link "
                                  f"yet (docs/streaming.md)")
        if settings.stream is not None:
            try:
                stream_sources(settings.stream)
            except (sww_scoring.TruthError, AudioFileError) as exc:
                raise ModeOptionError(str(exc)) from None

    def run(self, ctx: ModeContext) -> None:
        if not ctx.benchmark.streaming:
            raise ModeOptionError(f"streaming mode plays audio into a streaming benchmark (sww01), not {ctx.benchmark.id}")
        if ctx.target.emulated:
            run_in_emulator(ctx)
        elif ctx.settings.io_manager:
            run_on_bench(ctx)
        else:
            run_over_uart(ctx)  # a board without an interface board
        ctx.entry.summary = ctx.entry.streaming.summary.model_copy()


def run_in_emulator(ctx: ModeContext,
                    on_stream: Callable[[int, StreamResult, list[MarkerStore]], None] | None = None) -> None:
    """Each truth entry not yet played, through the emulated DUT; `on_stream` (energy mode) gets
    each stream's pin stores before the session saves it."""
    bid, settings = ctx.benchmark.id, ctx.settings
    markers = getattr(ctx.run, "markers", None)
    if markers is None:
        raise StreamingError("the target logs no pin stores (a QEMU marker log is needed)")
    state, truth = start_streams(ctx)
    sources = stream_sources(truth)
    tables = build_tables(*ctx.reference.input_quantization())
    functions = PinFunctions.from_elf(ctx.firmware.build.elf)
    ns_per_instruction = round(1e9 / ctx.target.instructions_per_second)
    for index in range(len(state.streams), len(sources)):  # a resumed session keeps its streams
        truth_entry, wav = sources[index]
        ctx.progress.stage(bid, f"streaming {wav.name}")
        stores: list[MarkerStore] = []
        result = run_stream(ctx.dut, markers.read_new, lambda: ctx.run.exit_code() is None, functions,
                            read_wav(wav), truth_entry, ctx.session.directory / f"stream-{bid}-{index:03d}",
                            ns_per_instruction=ns_per_instruction, tables=tables,
                            reference=ctx.reference if settings.check_reference else None, stores_out=stores)
        if on_stream is not None:
            on_stream(index, result, stores)
        record_stream(ctx, state, result, len(sources), f", duty cycle {result.duty_cycle:.4f}")
    finish_streams(state)
