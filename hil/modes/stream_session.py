"""The session side of streaming, the same however a stream is played (in the emulator, through
the interface board, over the UART): which truth file is played, each stream recorded and saved
as it ends (so an interrupted run resumes after the last one), and the totals over the files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyrig.hil.dut.sww_streams import write_test_stream
from tinyrig.hil.modes import sww_scoring
from tinyrig.hil.modes.base import ModeContext
from tinyrig.hil.results.schema import ClosedDivisionLimits, StreamingRecord, StreamingSummary, StreamRecord


def start_streams(ctx: ModeContext) -> tuple[StreamingRecord, Path]:
    """The session's streaming record and the truth file it plays: `--stream`, or tinyrig's test
    stream written into the session. Streams already in the record (a resumed run) are kept."""
    state = ctx.entry.streaming = ctx.entry.streaming or StreamingRecord()
    truth = Path(ctx.settings.stream) if ctx.settings.stream else write_test_stream(
        ctx.session.directory / "sww_test_stream")
    state.truth = str(truth)
    return state, truth


def record_stream(ctx: ModeContext, state: StreamingRecord, result: StreamRecord, total: int, note: str) -> None:
    """One finished stream into the session, saved at once, and the progress line after it."""
    state.streams.append(result)
    ctx.session.save()
    tp, fn, fp = result.counts
    ctx.progress.advance(ctx.benchmark.id, len(state.streams), total, f"{tp} TP, {fn} FN, {fp} FP{note}")


def finish_streams(state: StreamingRecord) -> None:
    state.summary = summarize(state.streams)


def summarize(results: list[StreamRecord]) -> StreamingSummary:
    """Totals over the files and the per-file figures the runner prints (first file's duty cycle)."""
    tp = sum(r.counts[0] for r in results)
    fn = sum(r.counts[1] for r in results)
    fp = sum(r.counts[2] for r in results)
    timed = [r for r in results if r.processing_s is not None]  # the UART path times nothing
    processing = (sum(r.processing_s * r.hops for r in timed) / max(1, sum(r.hops for r in timed))) if timed else None
    return StreamingSummary(
        files=len(results), true_positives=tp, false_negatives=fn, false_positives=fp,
        duty_cycle=float(np.mean([r.duty_cycle for r in timed])) if timed else None,
        period_s=float(np.mean([r.period_s for r in timed])) if timed else None,
        processing_s=processing, throughput=1.0 / processing if processing else None,
        hops=sum(r.hops for r in results), lost_hops=sum(r.lost for r in results),
        features_equal=sum(r.features_equal for r in results),
        outputs_equal=None if any(r.outputs_equal is None for r in results) else sum(r.outputs_equal for r in results),
        checked_hops=sum(r.checked_hops for r in results),
        closed_division=ClosedDivisionLimits(false_positives_le_8=fp <= sww_scoring.MAX_FALSE_POSITIVES,
                                             false_negatives_le_8=fn <= sww_scoring.MAX_FALSE_NEGATIVES),
    )
