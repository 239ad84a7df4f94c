"""Inputs for performance runs: files from a dataset when one is given, else seeded random data
of the benchmark's exact format (the same seed gives the same bytes on every machine)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyrig.benchmarks import Benchmark
from tinyrig.hil.dut.dataset import dataset_path, index_rows


@dataclass(frozen=True)
class Input:
    name: str
    data: bytes


def random_inputs(benchmark: Benchmark, count: int, seed: int = 0,
                  input_scale: float = 1.0, input_zero_point: int = 0) -> list[Input]:
    rng = np.random.default_rng([seed, sum(map(ord, benchmark.id))])
    inputs = []
    for i in range(count):
        if benchmark.conversion == "float32_quantize":
            # Values that land across the int8 range once quantized, off the rounding ties.
            n = benchmark.input_bytes // 4
            q = rng.integers(-128, 128, size=n)
            jitter = rng.uniform(-0.45, 0.45, size=n)
            data = ((q - input_zero_point + jitter) * input_scale).astype("<f4").tobytes()
        else:
            data = rng.integers(0, 256, size=benchmark.input_bytes, dtype=np.uint8).tobytes()
        inputs.append(Input(f"random-{seed}-{i}", data))
    return inputs


def dataset_inputs(benchmark: Benchmark, dataset: Path, count: int) -> list[Input]:
    """The first `count` files of `<dataset>/<id>/y_labels.csv` (one window each for ad01)."""
    folder = Path(dataset) / benchmark.id
    index = folder / "y_labels.csv"
    if not index.is_file():
        raise FileNotFoundError(f"{index}: missing (dataset layout: <dataset>/{benchmark.id}/y_labels.csv)")
    inputs = []
    for line_no, row in index_rows(index):
        if not row or not row[0].strip():
            continue
        path = dataset_path(folder, row[0].strip(), f"{index}:{line_no}")
        data = path.read_bytes()[: benchmark.input_bytes]
        if len(data) < benchmark.input_bytes:
            raise ValueError(f"{path}: {len(data)} bytes, {benchmark.id} needs {benchmark.input_bytes}")
        inputs.append(Input(row[0].strip(), data))
        if len(inputs) == count:
            break
    if len(inputs) < count:
        raise ValueError(f"{index}: {len(inputs)} inputs, performance mode needs {count}")
    return inputs
