"""Accuracy mode's batched path in emulation: many inputs per `tinyrig batch` command, the
reference check in worker processes beside the emulator.

Files of one input each (kws01, vww01, ic01) go `batch_inputs` at a time; a windowed file (ad01)
goes whole, one batch, and the firmware cuts its windows. While the emulator runs batch k, the
reference pool computes batch k's expected outputs; each batch's files are finished (compared,
handed to `on_file`) once its reference has come back, so a run interrupted before then redoes
those files on resume. Every input is compared, raw output bytes and score text both; the counts
land in the files' `bit_exact`/`checked`, which make `tinyrig run` fail on any difference.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from tinyrig.hil.dut.client import Dut, DutError, parse_scores
from tinyrig.hil.dut.dataset import DatasetFile, window_count
from tinyrig.hil.dut.loading import BatchOutput, SemihostBatcher, choose_batcher
from tinyrig.hil.dut.reference import Expected
from tinyrig.hil.dut.reference_pool import ReferencePool
from tinyrig.hil.modes.base import ModeContext
from tinyrig.hil.results.schema import AccuracyFile

# How long a batch may go without a result line before the device counts as gone (one input of
# the slowest model takes well under a second in emulation).
BATCH_SILENCE_S = 120.0
BATCH_INPUTS = 100  # single-input files per command: the round trip is ~2 ms, 100 inputs ~0.5-3 s
MISMATCH_NOTES = 20  # differences described in the session log, per benchmark
PENDING_BATCHES = 4  # batches whose reference may lag behind the emulator before it waits

Mismatch = Callable[[DatasetFile, int, str], None]  # (file, window, what differs)


@dataclass
class _Batch:
    files: list[DatasetFile]
    windows: list[list[bytes]]  # per file, its inputs as the host cuts them
    data: bytes  # what goes to the device
    stride: int


def plan_batches(files: list[DatasetFile], input_bytes: int, batch_inputs: int = BATCH_INPUTS) -> Iterator[_Batch]:
    """Consecutive single-input files grouped up to `batch_inputs`; a windowed file alone."""
    group: list[DatasetFile] = []
    inputs: list[bytes] = []

    def flush() -> _Batch:
        batch = _Batch(list(group), [[x] for x in inputs], b"".join(inputs), input_bytes)
        group.clear()
        inputs.clear()
        return batch

    for item in files:
        if item.stride:
            if group:
                yield flush()
            data = item.read()
            count = window_count(len(data), item.bytes_to_send, item.stride)
            windows = [data[i * item.stride : i * item.stride + item.bytes_to_send] for i in range(count)]
            yield _Batch([item], [windows], data, item.stride)
            continue
        group.append(item)
        inputs.append(item.read())
        if len(group) == batch_inputs:
            yield flush()
    if group:
        yield flush()


def _split(batch: _Batch, outputs: list[BatchOutput]) -> list[list[BatchOutput]]:
    """The device's outputs per file; the device must have cut as many inputs as the host did."""
    sizes = [len(w) for w in batch.windows]
    if len(outputs) != sum(sizes):
        raise DutError(f"the device answered {len(outputs)} inputs for {batch.files[0].name}"
                       f"{' ...' if len(batch.files) > 1 else ''}, the host cut {sum(sizes)}")
    per_file, start = [], 0
    for size in sizes:
        per_file.append(outputs[start : start + size])
        start += size
    return per_file


def _scores_text(line: str) -> list[str]:
    body = line[line.index("[") + 1 : line.rindex("]")]
    return body.split(",") if body else []


def _difference(output: BatchOutput, expected: Expected) -> str | None:
    """What differs between the device's answer and the reference's, or None."""
    text = _scores_text(output.line)
    if text != expected.scores:
        return f"scores [{','.join(text)}], reference [{','.join(expected.scores)}]"
    if output.raw != expected.raw:
        first = next(i for i, (a, b) in enumerate(zip(output.raw, expected.raw)) if a != b) \
            if len(output.raw) == len(expected.raw) else None
        where = f"byte {first}" if first is not None else f"{len(output.raw)} vs {len(expected.raw)} bytes"
        return f"raw output differs from the reference ({where})"
    return None


def _file_result(item: DatasetFile, outputs: list[BatchOutput], expected: list[Expected] | None,
                 on_mismatch: Mismatch | None) -> AccuracyFile:
    per_window = []
    for output in outputs:
        scores = parse_scores(output.line)
        if scores is None:
            raise DutError(f"unreadable result line {output.line!r} for {item.name}")
        per_window.append(scores)
    exact = 0
    if expected is not None:
        for window, (output, want) in enumerate(zip(outputs, expected, strict=True)):
            what = _difference(output, want)
            exact += what is None
            if what is not None and on_mismatch is not None:
                on_mismatch(item, window, what)
    mean = np.mean(np.array(per_window, dtype=np.float64), axis=0).tolist()
    predicted = int(np.argmax(mean)) if len(mean) > 1 else None
    return AccuracyFile(index=item.index, file=item.name, label=item.label, windows=len(outputs), score=mean,
                        predicted=predicted, bit_exact=exact, checked=len(outputs) if expected is not None else 0)


def run_accuracy_batched(dut: Dut, files: list[DatasetFile], batcher: SemihostBatcher, *,
                         reference: ReferencePool | None, done: list[AccuracyFile] | None = None,
                         on_file: Callable[[AccuracyFile], None] | None = None,
                         on_mismatch: Mismatch | None = None, batch_inputs: int = BATCH_INPUTS) -> list[AccuracyFile]:
    results = list(done or [])
    finished = {r.index for r in results}
    todo = [f for f in files if f.index not in finished]
    pending: deque[tuple[_Batch, list[list[BatchOutput]], Future | None]] = deque()

    def finish_oldest() -> None:
        batch, per_file, future = pending.popleft()
        expected = future.result() if future is not None else None  # a worker's error surfaces here
        start = 0
        for item, outputs in zip(batch.files, per_file):
            want = expected[start : start + len(outputs)] if expected is not None else None
            start += len(outputs)
            result = _file_result(item, outputs, want, on_mismatch)
            results.append(result)
            if on_file is not None:
                on_file(result)

    try:
        for batch in plan_batches(todo, batcher.input_bytes, batch_inputs):
            # The reference starts first and computes while the emulator runs the same inputs.
            future = reference.submit([w for windows in batch.windows for w in windows]) if reference else None
            outputs = batcher.run_windows(dut, batch.data, batch.stride)
            pending.append((batch, _split(batch, outputs), future))
            while pending and (len(pending) > PENDING_BATCHES or (pending[0][2] is None or pending[0][2].done())):
                finish_oldest()
    except BaseException:
        # The device failed (or Ctrl-C): keep the batches it did answer, so a resume skips them;
        # the original error is what the caller sees.
        try:
            while pending:
                finish_oldest()
        except Exception:
            pass
        raise
    while pending:
        finish_oldest()
    return sorted(results, key=lambda r: r.index)


def run_batched_if_possible(ctx: ModeContext, files: list[DatasetFile], done: list[AccuracyFile],
                            on_file: Callable[[AccuracyFile], None]) -> list[AccuracyFile] | None:
    """Accuracy mode's run through the batched path when the run's loader and firmware allow it
    (QEMU, semihosting, `tinyrig batch`); None when they do not, and inputs go one by one."""
    batcher = choose_batcher(ctx.dut, ctx.load, ctx.benchmark.input_bytes,
                             silence_s=min(ctx.settings.infer_timeout_s, BATCH_SILENCE_S))
    if batcher is None:
        return None
    ctx.entry.input_path = batcher.name

    noted = 0

    def on_mismatch(item: DatasetFile, window: int, what: str) -> None:
        nonlocal noted  # the first few say what differs; the counts in results.json say how often
        noted += 1
        if noted <= MISMATCH_NOTES:
            ctx.session.note(f"differs from tflite-micro: {item.name} window {window}: {what}", ctx.benchmark.id)

    pool = ReferencePool(ctx.reference) if ctx.settings.check_reference else None
    try:
        return run_accuracy_batched(ctx.dut, files, batcher, reference=pool, done=done, on_file=on_file,
                                    on_mismatch=on_mismatch)
    finally:
        batcher.close()
        if pool is not None:
            pool.close()
