"""sww01 on a board: through the interface board (sww_bench) or, without one, over the DUT's UART
(sww_uart). Each plays the truth file's entries not yet played and records them into the session
as the emulated stream does (stream_session)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from tinyrig.codegen.audio_frontend import SPEC, build_tables
from tinyrig.hil.dut.audio_features import hop_sequence_features, split_hops
from tinyrig.hil.dut.audio_files import AudioFileError, read_wav
from tinyrig.hil.modes import sww_scoring
from tinyrig.hil.modes.base import ModeContext, ModeOptionError, ModeSettings
from tinyrig.hil.modes.stream_session import finish_streams, record_stream, start_streams
from tinyrig.hil.modes.sww_bench import bench_sources, play_on_bench
from tinyrig.hil.results.schema import StreamRecord

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
    bid = ctx.benchmark.id
    board = interface_board(ctx)
    # The shipped stream's wav must be on the board's SD card under its name (docs/streaming.md).
    state, truth = start_streams(ctx)
    sources = bench_sources(truth)
    for index in range(len(state.streams), len(sources)):  # a resumed session keeps its streams
        source = sources[index]
        ctx.progress.stage(bid, f"interface board playing {source.entry.wav_file} ({source.length_s:.0f} s)")
        result, trace = play_on_bench(ctx.dut, board, source, power=power)
        if on_stream is not None:
            on_stream(index, result, trace)
        record_stream(ctx, state, result, len(sources), f", duty cycle {result.duty_cycle:.4f}")
    finish_streams(state)


def run_over_uart(ctx: ModeContext) -> None:
    """Each truth entry not yet played, hop by hop over the DUT's UART (sww_uart: untimed)."""
    from tinyrig.hil.modes.streaming import stream_sources
    from tinyrig.hil.modes.sww_uart import UART_DB_BYTES, detect_threshold, stream_over_uart

    bid, settings = ctx.benchmark.id, ctx.settings
    state, truth = start_streams(ctx)
    sources = stream_sources(truth)
    tables = build_tables(*ctx.reference.input_quantization())
    threshold = detect_threshold(ctx.reference)
    ctx.dut.db_chunk_bytes = UART_DB_BYTES  # the sww01 DUT takes 1028-character commands
    # The DUT's state carries from file to file; a resumed run's host reference follows the files
    # already played (their features as the host computes them).
    done_hops = [split_hops(read_wav(wav), SPEC.hop) for _, wav in sources[: len(state.streams)]]
    sent = np.concatenate(done_hops) if done_hops else np.zeros((0, SPEC.hop), np.int16)
    before = (sent, hop_sequence_features(sent, tables) if len(sent) else np.zeros((0, SPEC.mel_bins), np.int8))
    for index in range(len(state.streams), len(sources)):  # a resumed session keeps its streams
        truth_entry, wav = sources[index]

        def on_hop(done: int, total: int, name: str = wav.name) -> None:
            if done % 50 == 0 or done == total:
                ctx.progress.stage(bid, f"UART: {name} hop {done:,}/{total:,}")

        result, before = stream_over_uart(ctx.dut, read_wav(wav), truth_entry, tables=tables,
                                          reference=ctx.reference if settings.check_reference else None,
                                          threshold=threshold, before=before, on_hop=on_hop)
        record_stream(ctx, state, result, len(sources), " (UART, untimed)")
    finish_streams(state)
