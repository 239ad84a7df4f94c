"""The tflite-micro reference check off the bench's critical path.

Worker processes (each with its own interpreter) compute the expected outputs of a batch while
the emulator runs it, so the check costs the bench no time as long as a spare core keeps up. It
leaves out nothing: every input submitted comes back with its expected raw bytes and score text,
and the caller compares every one.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor

from tinyrig.benchmarks import get_benchmark
from tinyrig.hil.dut.reference import Expected, ReferenceModel

_worker_reference: ReferenceModel | None = None  # one per worker process


def _start_worker(model_bytes: bytes, benchmark_id: str) -> None:
    global _worker_reference
    _worker_reference = ReferenceModel(model_bytes, get_benchmark(benchmark_id))


def _expected(inputs: list[bytes]) -> list[Expected]:
    assert _worker_reference is not None, "worker started without its model"
    return [_worker_reference.run(data) for data in inputs]


def default_workers() -> int:
    """All cores but one: that one runs the emulator, whose pace the bench waits on."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


class ReferencePool:
    def __init__(self, reference: ReferenceModel, workers: int | None = None) -> None:
        # spawn, not fork: the bench has threads (emulator output readers, the progress display)
        # that a forked child would inherit mid-operation.
        self._executor = ProcessPoolExecutor(max_workers=workers or default_workers(),
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker,
                                             initargs=(reference.model_bytes, reference.benchmark.id))

    def submit(self, inputs: list[bytes]) -> Future:
        """A future of the inputs' Expected, in order."""
        return self._executor.submit(_expected, list(inputs))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "ReferencePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
