"""Datasets in the official MLPerf Tiny layout: `<root>/<id>/y_labels.csv` plus the files it names.

Each row is `file,num_classes,class[,bytes_to_send,stride]`. For kws01, vww01 and ic01 a file is
one input. For ad01 a file is a long float32 spectrogram cut into windows of `bytes_to_send`
bytes, `stride` bytes apart; the file's score is the mean of its windows' results.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from tinyrig.benchmarks import Benchmark


class DatasetError(ValueError):
    pass


# A class count past this is a damaged index, not a classifier (the confusion matrix is n x n).
MAX_CLASSES = 1000


def index_rows(index: Path):
    """(line number, row) of a y_labels.csv, with a file that is not CSV text said in one line."""
    try:
        with open(index, newline="", encoding="utf-8") as handle:
            for line_no, row in enumerate(csv.reader(handle), start=1):
                yield line_no, row
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{index}: not a UTF-8 text file (byte {exc.start}: {exc.reason})") from None
    except csv.Error as exc:
        raise DatasetError(f"{index}: not a CSV index ({exc})") from None
    except OSError as exc:
        raise DatasetError(f"{index}: cannot read it: {exc.strerror or exc}") from None


def dataset_path(folder: Path, name: str, where: str) -> Path:
    """The file a row names: relative to the index's folder and inside it, a regular file."""
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise DatasetError(f"{where}: file {name!r} must be a path relative to {folder}, inside it")
    path = folder / relative
    if not path.is_file():
        raise DatasetError(f"{where}: {path} does not exist or is not a regular file")
    return path


def window_count(data_bytes: int, window_bytes: int, stride: int) -> int:
    """How many windows of `window_bytes` a file of `data_bytes` gives, one every `stride` bytes
    while one fits (the runner's ad01 rule). The firmware's `tinyrig batch` cuts by the same rule."""
    if window_bytes <= 0 or stride <= 0:
        raise ValueError(f"window size {window_bytes} and stride {stride} must be > 0")
    return 0 if data_bytes < window_bytes else (data_bytes - window_bytes) // stride + 1


@dataclass(frozen=True)
class DatasetFile:
    index: int
    name: str
    path: Path
    num_classes: int
    label: int
    bytes_to_send: int
    stride: int

    def read(self) -> bytes:
        """The bytes the file's windows are cut from: the whole file, or (stride 0) its one input."""
        data = self.path.read_bytes()
        if len(data) < self.bytes_to_send:
            raise DatasetError(f"{self.path}: {len(data)} bytes, at least {self.bytes_to_send} needed")
        return data if self.stride else data[: self.bytes_to_send]

    def windows(self) -> list[bytes]:
        """The inputs this file gives: one, or (ad01) a window every `stride` bytes."""
        data = self.read()
        if not self.stride:
            return [data]
        count = window_count(len(data), self.bytes_to_send, self.stride)
        return [data[i * self.stride : i * self.stride + self.bytes_to_send] for i in range(count)]


def _missing_index(benchmark: Benchmark, root: Path, index: Path) -> str:
    """What is wrong with the layout, in one line, with the likeliest fix."""
    layout = f"(dataset layout: <dataset>/{benchmark.id}/y_labels.csv plus the files it names)"
    if not root.is_dir():
        return f"{root}: dataset folder does not exist {layout}"
    if (root / "y_labels.csv").is_file():
        return (f"{index}: missing, but {root / 'y_labels.csv'} exists: give the folder that holds "
                f"{benchmark.id}/, not the benchmark's own folder {layout}")
    if not index.parent.is_dir():
        present = sorted(p.name for p in root.iterdir() if (p / "y_labels.csv").is_file())
        has = f"; it has {', '.join(present)}" if present else ""
        return f"{root}: no {benchmark.id}/ folder{has} {layout}"
    return f"{index}: missing {layout}"


def read_index(benchmark: Benchmark, root: Path, limit: int | None = None) -> list[DatasetFile]:
    root = Path(root)
    folder = root / benchmark.id
    index = folder / "y_labels.csv"
    if not index.is_file():
        raise DatasetError(_missing_index(benchmark, root, index))
    files: list[DatasetFile] = []
    for line_no, row in index_rows(index):
        if not row or not row[0].strip():
            continue
        try:
            name, num_classes, label = row[0].strip(), int(row[1]), int(row[2])
            to_send = int(row[3]) if len(row) > 3 and row[3].strip() else benchmark.input_bytes
            stride = int(row[4]) if len(row) > 4 and row[4].strip() else 0
        except (IndexError, ValueError):
            raise DatasetError(f"{index}:{line_no}: expected file,num_classes,class[,bytes_to_send,stride], "
                               f"got {','.join(row)!r}") from None
        if to_send != benchmark.input_bytes:
            raise DatasetError(f"{index}:{line_no}: bytes_to_send {to_send}, but {benchmark.id} takes "
                               f"{benchmark.input_bytes} bytes per input")
        if not 1 <= num_classes <= MAX_CLASSES:
            raise DatasetError(f"{index}:{line_no}: num_classes {num_classes}; allowed 1..{MAX_CLASSES}")
        if files and num_classes != files[0].num_classes:
            raise DatasetError(f"{index}:{line_no}: num_classes {num_classes}, but the first row says "
                               f"{files[0].num_classes}; one index has one class count")
        if not 0 <= label < num_classes:
            raise DatasetError(f"{index}:{line_no}: class {label} outside 0..{num_classes - 1}")
        if stride < 0:
            raise DatasetError(f"{index}:{line_no}: stride {stride}; allowed: 0 (one window) or more")
        path = dataset_path(folder, name, f"{index}:{line_no}")
        size = path.stat().st_size
        if size < to_send:
            raise DatasetError(f"{index}:{line_no}: {path} has {size} bytes, at least {to_send} needed")
        files.append(DatasetFile(len(files), name, path, num_classes, label, to_send, stride))
        if limit is not None and len(files) == limit:
            break
    if not files:
        raise DatasetError(f"{index}: no rows")
    return files
