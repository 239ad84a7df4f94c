"""Accuracy mode checks its dataset before anything builds, names what is wrong in one line, and
says why an AUC is missing; class names come from the benchmark table."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import DEFAULT_BOARD, load_board
from tinyrig.hil.dut.dataset import DatasetError, read_index
from tinyrig.hil.modes.accuracy import AccuracyMode, FileResult, summarize
from tinyrig.hil.modes.base import ModeOptionError, ModeSettings
from tinyrig.hil.results.tables import accuracy_table, results_table
from tinyrig.hil.targets.qemu import QemuTarget

SHARED_LABELS = Path(__file__).resolve().parents[3].parent / "shared" / "mlperf-tiny" / "labels"


def _dataset(root: Path, bid: str, rows: list[str], sizes: dict[str, int]) -> Path:
    folder = root / bid
    folder.mkdir(parents=True)
    for name, size in sizes.items():
        (folder / name).write_bytes(bytes(size))
    (folder / "y_labels.csv").write_text("\n".join(rows) + "\n")
    return root


def _check(dataset: Path, *ids: str) -> None:
    settings = ModeSettings(board=load_board(DEFAULT_BOARD), benchmarks=tuple(get_benchmark(i) for i in ids),
                            dataset=dataset)
    AccuracyMode().check(settings, QemuTarget)


def test_layout_problems_are_named_before_anything_runs(tmp_path):
    root = _dataset(tmp_path / "d", "kws01", ["a.bin,12,3"], {"a.bin": 490})
    _check(root, "kws01")  # a good index passes
    with pytest.raises(ModeOptionError, match=r"d: no ad01/ folder; it has kws01 \(dataset layout: "):
        _check(root, "kws01", "ad01")
    with pytest.raises(ModeOptionError, match=r"y_labels.csv: missing, but .*kws01/y_labels.csv exists: give the "
                                              r"folder that holds kws01/, not the benchmark's own folder"):
        _check(root / "kws01", "kws01")
    with pytest.raises(ModeOptionError, match=r"nowhere: dataset folder does not exist"):
        _check(tmp_path / "nowhere", "kws01")
    short = _dataset(tmp_path / "s", "kws01", ["a.bin,12,3", "b.bin,12,3"], {"a.bin": 490, "b.bin": 100})
    with pytest.raises(ModeOptionError, match=r"y_labels.csv:2: .*b.bin has 100 bytes, at least 490 needed"):
        _check(short, "kws01")


def test_run_stops_before_building(tmp_path):
    """The CLI says what is wrong in one line, creates no session and builds nothing."""
    root = _dataset(tmp_path / "d", "kws01", ["a.bin,12,3"], {"a.bin": 490})
    cache = tmp_path / "cache"
    env = dict(os.environ, TINYRIG_CACHE=str(cache), TINYRIG_DB=str(tmp_path / "db.sqlite"))
    proc = subprocess.run([sys.executable, "-m", "tinyrig.cli", "run", "--mode", "accuracy", "--benchmark",
                           "kws01,ad01", "--dataset", str(root), "--sessions", str(tmp_path / "sessions")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and f"{root}: no ad01/ folder" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "sessions").exists() and not cache.exists()


def _files(labels: list[int]) -> list[FileResult]:
    return [FileResult(index=i, file=f"f{i}.bin", label=label, windows=1, score=[float(i)], predicted=None,
                       bit_exact=1, checked=1) for i, label in enumerate(labels)]


def test_missing_auc_is_explained():
    ad01 = get_benchmark("ad01")
    one_class = summarize(ad01, _files([0, 0, 0]), 2)
    assert one_class.auc is None
    assert one_class.auc_note == "AUC needs both classes; only class 0 (normal) present in the 3 file(s) scored"
    both = summarize(ad01, _files([0, 1, 0]), 2)
    assert both.auc is not None and both.auc_note is None
    results = {"board": "b", "target": "qemu", "mode": "accuracy", "benchmarks": {"ad01": {
        "status": "complete", "accuracy": {"files": [f.model_dump() for f in _files([1, 1])],
                                           "summary": {"files": 2, "inputs": 2, "auc": None}}}}}
    # An older session without the stored note: the reason is worked out from its files.
    note = "AUC needs both classes; only class 1 (anomaly) present in the 2 file(s) scored"
    assert accuracy_table(results).notes == [f"ad01: {note}"]
    (row,) = results_table([results]).rows
    assert f"- ({note})" in [cell.text for cell in row]


def test_classifier_summary_names_its_classes():
    kws = get_benchmark("kws01")
    files = [FileResult(index=0, file="a", label=7, windows=1, score=[0.0] * 12, predicted=7),
             FileResult(index=1, file="b", label=2, windows=1, score=[0.0] * 12, predicted=6)]
    summary = summarize(kws, files, 12)
    assert summary.class_names[7] == "stop" and summary.class_names[2] == "left" and summary.top1 == 0.5


@pytest.mark.skipif(not (SHARED_LABELS / "kws01" / "y_labels.csv").is_file(), reason="official index not found")
def test_kws01_class_names_agree_with_the_official_index():
    """The official kws01 index names each file after its word (tst_000000_Stop_7.bin): the
    class number in the row must be that word's place in the benchmark's class names."""
    kws = get_benchmark("kws01")
    with open(SHARED_LABELS / "kws01" / "y_labels.csv", newline="") as handle:
        pairs = {(row[0].split("_")[2].lower(), int(row[2])) for row in csv.reader(handle) if row}
    assert len(pairs) == 12 and all(kws.class_names[label] == word for word, label in pairs)
    with pytest.raises(DatasetError):
        read_index(kws, SHARED_LABELS.parent / "nowhere")
