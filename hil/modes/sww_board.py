"""sww01 on a board: through the interface board (sww_bench) or, without one, over the DUT's UART
(sww_uart). Each plays the truth file's entries not yet played, records them into the session as
they finish, and summarizes them as the emulated stream is (streaming.summarize)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from tinyrig.codegen.audio_frontend import SPEC, build_tables
from tinyrig.hil.dut.audio_features import hop_sequence_features, split_hops
from tinyrig.hil.dut.audio_files import AudioFileError, read_wav
from tinyrig.hil.dut.sww_streams import write_test_stream
from tinyrig.hil.modes import sww_scoring
from tinyrig.hil.modes.base import ModeContext, ModeOptionError, ModeSettings
from tinyrig.hil.modes.sww_bench import bench_sources, play_on_bench
from tinyrig.hil.results.schema import StreamingRecord, StreamRecord

if TYPE_CHECKING:
    from tinyrig.hil.dut.io_manager import IoManager
    from tinyrig.hil.instruments.energy_sources import TraceSource
    from tinyrig.hil.instruments.trace import PowerTrace

StreamResult = StreamRecord


def check_bench_truth(settings: ModeSettings) -> None:
    """The truth file as the bench reads it (names, windows, lengths), before anything builds."""
    if settings.stream is not None:
        try:
            bench_sources(settings.stream)
        except (sww_scoring.TruthError, AudioFileError) as exc:
            raise ModeOptionError(str(exc)) from None


def interface_board(ctx: ModeContext) -> IoManager:
    """The bench's interface board, which the hardware target opened to relay the DUT's console."""
    board = getattr(ctx.run, "interface_board", None)
    if board is None:
        raise ModeOptionError("sww01 on a board streams through the interface board: --io-manager PORT")
    return board


def run_on_bench(ctx: ModeContext, power: TraceSource | None = None,
                 on_stream: Callable[[int, StreamResult, PowerTrace | None], None] | None = None) -> None:
    """The runner's `stream` step on a bench (sww_bench), for each truth entry not yet played;
    with `power` (energy mode) each stream's trace goes to `on_stream` before the session saves."""
    from tinyrig.hil.modes.streaming import summarize

    bid, settings = ctx.benchmark.id, ctx.settings
    board = interface_board(ctx)
    state = ctx.entry.streaming = ctx.entry.streaming or StreamingRecord()
    # The shipped stream's wav must be on the board's SD card under its name (docs/streaming.md).
    truth = Path(settings.stream) if settings.stream else write_test_stream(ctx.session.directory / "sww_test_stream")
    state.truth = str(truth)
    sources = bench_sources(truth)
    results = list(state.streams)  # a resumed session keeps its streams
    for index in range(len(results), len(sources)):
        source = sources[index]
        ctx.progress.stage(bid, f"interface board playing {source.entry.wav_file} ({source.length_s:.0f} s)")
        result, trace = play_on_bench(ctx.dut, board, source, power=power)
        if on_stream is not None:
            on_stream(index, result, trace)
        results.append(result)
        state.streams.append(result)
        ctx.session.save()
        tp, fn, fp = result.counts
        ctx.progress.advance(bid, index + 1, len(sources),
                             f"{tp} TP, {fn} FN, {fp} FP, duty cycle {result.duty_cycle:.4f}")
    state.summary = summarize(results)


def run_over_uart(ctx: ModeContext) -> None:
    """Each truth entry not yet played, hop by hop over the DUT's UART (sww_uart: untimed)."""
    from tinyrig.hil.modes.streaming import stream_sources, summarize
    from tinyrig.hil.modes.sww_uart import UART_DB_BYTES, detect_threshold, stream_over_uart

    bid, settings = ctx.benchmark.id, ctx.settings
    state = ctx.entry.streaming = ctx.entry.streaming or StreamingRecord()
    truth = Path(settings.stream) if settings.stream else write_test_stream(ctx.session.directory / "sww_test_stream")
    state.truth = str(truth)
    sources = stream_sources(truth)
    tables = build_tables(*ctx.reference.input_quantization())
    threshold = detect_threshold(ctx.reference)
    ctx.dut.db_chunk_bytes = UART_DB_BYTES  # the sww01 DUT takes 1028-character commands
    results = list(state.streams)  # a resumed session keeps its streams
    # The DUT's state carries from file to file; a resumed run's host reference follows the files
    # already played (their features as the host computes them).
    done_hops = [split_hops(read_wav(wav), SPEC.hop) for _, wav in sources[: len(results)]]
    sent = np.concatenate(done_hops) if done_hops else np.zeros((0, SPEC.hop), np.int16)
    before = (sent, hop_sequence_features(sent, tables) if len(sent) else np.zeros((0, SPEC.mel_bins), np.int8))
    for index in range(len(results), len(sources)):
        truth_entry, wav = sources[index]

        def on_hop(done: int, total: int, name: str = wav.name) -> None:
            if done % 50 == 0 or done == total:
                ctx.progress.stage(bid, f"UART: {name} hop {done:,}/{total:,}")

        result, before = stream_over_uart(ctx.dut, read_wav(wav), truth_entry, tables=tables,
                                          reference=ctx.reference if settings.check_reference else None,
                                          threshold=threshold, before=before, on_hop=on_hop)
        results.append(result)
        state.streams.append(result)
        ctx.session.save()
        tp, fn, fp = result.counts
        ctx.progress.advance(bid, index + 1, len(sources), f"{tp} TP, {fn} FN, {fp} FP (UART, untimed)")
    state.summary = summarize(results)
