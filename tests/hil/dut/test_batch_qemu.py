"""`tinyrig batch` under real QEMU: the same answers as one input at a time, the device's ad01
windows are the host's, every output is checked against tflite-micro and an injected difference
fails the run."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace

import numpy as np
import pytest

from tinyrig_testing import require_tools
from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import DEFAULT_BOARD, load_board
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.hil.dut.client import Dut, DutError, batch_file_bytes
from tinyrig.hil.dut.dataset import read_index
from tinyrig.hil.dut.inputs import random_inputs
from tinyrig.hil.dut.loading import SemihostLoader, choose_batcher
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.hil.dut.reference_pool import ReferencePool
from tinyrig.hil.modes.accuracy import summarize
from tinyrig.hil.modes.accuracy_batched import run_accuracy_batched
from tinyrig.hil.results.reference_check import disagreements
from tinyrig.hil.targets.qemu import QemuTarget


@pytest.fixture(autouse=True)
def _tools():
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")


class Device:
    """One benchmark's firmware under QEMU, its semihosting loader and its batcher."""

    def __init__(self, bid: str, models_dir):
        self.bench = get_benchmark(bid)
        self.reference = ReferenceModel(models_dir / f"{bid}.tflite", self.bench)
        elf = prepare_firmware(load_board(DEFAULT_BOARD), self.bench, models_dir / f"{bid}.tflite", "perf").build.elf
        self.target = QemuTarget(load_board(DEFAULT_BOARD))
        self.dut = Dut(self.target.start(elf).url)
        self.dut.open()
        self.loader = SemihostLoader()
        self.batcher = choose_batcher(self.dut, self.loader.load, self.bench.input_bytes)
        assert self.batcher is not None, "an emulated build announces `tinyrig batch`"

    def one_at_a_time(self, data: bytes) -> tuple[str, bytes]:
        self.loader.load(self.dut, data)
        lines = self.dut.infer(1, 0).lines
        return next(line for line in lines if line.startswith("m-results-")), self.dut.raw_output()

    def close(self):
        self.batcher.close()
        self.loader.close()
        self.dut.close()
        self.target.stop()


@pytest.fixture(scope="module")
def kws(models_dir):
    device = Device("kws01", models_dir)
    yield device
    device.close()


@pytest.fixture(scope="module")
def ad01(models_dir):
    device = Device("ad01", models_dir)
    yield device
    device.close()


def test_batched_equals_one_at_a_time(kws):
    inputs = [item.data for item in random_inputs(kws.bench, 6, seed=5)]
    batched = kws.batcher.run_inputs(kws.dut, inputs)
    assert len(batched) == 6
    for data, output in zip(inputs, batched):
        line, raw = kws.one_at_a_time(data)
        assert (output.line, output.raw) == (line, raw)
        assert output.raw == kws.reference.run(data).raw


def test_device_windows_are_the_hosts(ad01, tmp_path):
    """A file of 4.5 windows' worth at stride 1,000 bytes: the device cuts the same 7 windows the
    host's dataset reader does, each answered as if it had been sent alone."""
    rng = np.random.default_rng(2)
    scale, zero_point = ad01.reference.input_quantization()
    data = ((rng.integers(-128, 128, 2880) - zero_point) * scale).astype("<f4").tobytes()
    folder = tmp_path / "ad01"
    folder.mkdir()
    (folder / "f.bin").write_bytes(data)
    (folder / "y_labels.csv").write_text("f.bin,2,0,2560,1000\n")
    (item,) = read_index(ad01.bench, tmp_path)
    host_windows = item.windows()
    assert len(host_windows) == (len(data) - 2560) // 1000 + 1 == 9
    batched = ad01.batcher.run_windows(ad01.dut, data, 1000)
    assert len(batched) == len(host_windows)
    for window, output in zip(host_windows, batched):
        assert (output.line, output.raw) == ad01.one_at_a_time(window)


class OneWrongAnswer(ReferencePool):
    """The real reference pool, with one expected output altered: the comparison must catch it."""

    def __init__(self, reference, wrong_input: int):
        super().__init__(reference, workers=1)
        self.wrong_input = wrong_input
        self.seen = 0

    def submit(self, inputs):
        expected = super().submit(inputs).result()
        index = self.wrong_input - self.seen
        if 0 <= index < len(expected):
            raw = bytearray(expected[index].raw)
            raw[0] ^= 1
            expected[index] = replace(expected[index], raw=bytes(raw))
        self.seen += len(inputs)
        done: Future = Future()
        done.set_result(expected)
        return done


def dataset(tmp_path, bench, count):
    folder = tmp_path / bench.id
    folder.mkdir()
    rows = []
    for i, item in enumerate(random_inputs(bench, count, seed=9)):
        (folder / f"in{i}.bin").write_bytes(item.data)
        rows.append(f"in{i}.bin,12,{i % 12}")
    (folder / "y_labels.csv").write_text("\n".join(rows) + "\n")
    return read_index(bench, tmp_path)


def test_every_output_checked_and_a_difference_fails_the_run(kws, tmp_path):
    files = dataset(tmp_path, kws.bench, 7)
    with ReferencePool(kws.reference, workers=1) as pool:
        clean = run_accuracy_batched(kws.dut, files, kws.batcher, reference=pool, batch_inputs=3)
    assert [r.index for r in clean] == list(range(7))
    assert sum(r.checked for r in clean) == sum(r.bit_exact for r in clean) == 7

    mismatches = []
    with OneWrongAnswer(kws.reference, wrong_input=4) as pool:
        results = run_accuracy_batched(kws.dut, files, kws.batcher, reference=pool, batch_inputs=3,
                                       on_mismatch=lambda item, window, what: mismatches.append((item.name, what)))
    assert [(r.checked, r.bit_exact) for r in results] == [(1, 1)] * 4 + [(1, 0)] + [(1, 1)] * 2
    assert mismatches == [("in4.bin", "raw output differs from the reference (byte 0)")]
    summary = summarize(kws.bench, results, 12)
    verdict = disagreements({"mode": "accuracy", "benchmarks": {"kws01": {
        "status": "complete", "accuracy": {"summary": summary.model_dump()}}}})
    assert "1 of 7 inputs" in verdict["kws01"]


def test_foreign_or_wrong_size_files_are_refused(kws):
    for content, reason in [(b"TRIN" + bytes(600), "not a batch file written by the bench"),
                            (batch_file_bytes(100, 100, bytes(500)), "its input size is not this model's"),
                            (batch_file_bytes(490, 0, bytes(490)), "its stride is 0"),
                            (batch_file_bytes(490, 490, bytes(489)), "it holds no whole input")]:
        kws.batcher.path.write_bytes(content)
        with pytest.raises(DutError, match=reason):
            kws.dut.batch(str(kws.batcher.path), 1, silence_s=30)
