"""Hostile datasets: indexes that are not CSV text, rows that name files outside the dataset, class
counts that would blow up the confusion matrix. The dataset readers say which index and which line,
in one line, before a single input is sent (a `tinyrig run` records that against the benchmark)."""

from __future__ import annotations

import os

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.hil.dut.dataset import DatasetError, read_index
from tinyrig.hil.dut.inputs import dataset_inputs

KWS = get_benchmark("kws01")


def _dataset(tmp_path, index: bytes | str | None, files: dict | None = None):
    folder = tmp_path / "data" / "kws01"
    folder.mkdir(parents=True)
    for name, data in (files if files is not None else {"a.bin": bytes(490)}).items():
        (folder / name).write_bytes(data)
    if index is not None:
        (folder / "y_labels.csv").write_bytes(index if isinstance(index, bytes) else index.encode())
    return tmp_path / "data"


INDEXES = {
    "missing-index": (None, ["y_labels.csv: missing"]),
    "binary-index": (bytes(range(128, 256)) * 4, ["not a UTF-8 text file"]),
    "nul-bytes": (b"a.bin,12,3\x00\n", [":1:", "expected file,num_classes,class"]),
    "too-few-fields": ("a.bin,12\n", [":1:", "expected file,num_classes,class"]),
    "label-not-a-number": ("a.bin,12,three\n", [":1:", "expected"]),
    "label-out-of-range": ("a.bin,12,12\n", [":1:", "class 12 outside 0..11"]),
    "label-negative": ("a.bin,12,-1\n", ["class -1"]),
    "huge-class-count": ("a.bin,1000000000000,3\n", ["num_classes 1000000000000", "allowed 1..1000"]),
    "zero-classes": ("a.bin,0,0\n", ["num_classes 0"]),
    "mixed-class-counts": ("a.bin,12,3\na.bin,13,3\n", [":2:", "num_classes 13", "first row says 12"]),
    "escapes-the-folder": ("../../../etc/passwd,12,3\n", ["must be a path relative to", "inside it"]),
    "absolute-path": ("/etc/passwd,12,3\n", ["must be a path relative to"]),
    "file-missing": ("absent.bin,12,3\n", ["absent.bin does not exist"]),
    "negative-stride": ("a.bin,12,3,490,-7\n", ["stride -7"]),
    "wrong-bytes-to-send": ("a.bin,12,3,491\n", ["bytes_to_send 491", "490"]),
    "no-rows": ("\n\n", ["no rows"]),
}


@pytest.mark.parametrize("case", sorted(INDEXES))
def test_hostile_index(case, tmp_path):
    index, needles = INDEXES[case]
    root = _dataset(tmp_path, index)
    with pytest.raises(DatasetError) as caught:
        read_index(KWS, root)
    message = str(caught.value)
    assert "\n" not in message and "y_labels.csv" in message, message
    for needle in needles:
        assert needle in message, message


def test_named_pipe_in_a_dataset(tmp_path):
    root = _dataset(tmp_path, "pipe.bin,12,3\n", files={})
    os.mkfifo(root / "kws01" / "pipe.bin")
    with pytest.raises(DatasetError, match="pipe.bin does not exist or is not a regular file"):
        read_index(KWS, root)


def test_short_input_file(tmp_path):
    root = _dataset(tmp_path, "a.bin,12,3\n", files={"a.bin": bytes(100)})
    with pytest.raises(DatasetError, match=r"y_labels.csv:1: .*a.bin has 100 bytes, at least 490 needed"):
        read_index(KWS, root)


@pytest.mark.parametrize("case", ["binary-index", "escapes-the-folder", "file-missing"])
def test_performance_inputs_from_a_hostile_dataset(case, tmp_path):
    """`run --dataset` in performance mode reads the same indexes, with the same checks."""
    index, needles = INDEXES[case]
    root = _dataset(tmp_path, index)
    with pytest.raises(DatasetError) as caught:
        dataset_inputs(KWS, root, 1)
    assert all(n in str(caught.value) for n in needles), caught.value
