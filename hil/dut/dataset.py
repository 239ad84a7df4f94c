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


@dataclass(frozen=True)
class DatasetFile:
    index: int
    name: str
    path: Path
    num_classes: int
    label: int
    bytes_to_send: int
    stride: int

    def windows(self) -> list[bytes]:
        """The inputs this file gives: one, or (ad01) a window every `stride` bytes."""
        data = self.path.read_bytes()
        if len(data) < self.bytes_to_send:
            raise DatasetError(f"{self.path}: {len(data)} bytes, at least {self.bytes_to_send} needed")
        if not self.stride:
            return [data[: self.bytes_to_send]]
        return [data[i : i + self.bytes_to_send] for i in range(0, len(data) - self.bytes_to_send + 1, self.stride)]


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
    with open(index, newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
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
            if not 0 <= label < num_classes:
                raise DatasetError(f"{index}:{line_no}: class {label} outside 0..{num_classes - 1}")
            path = folder / name
            if not path.is_file():
                raise DatasetError(f"{index}:{line_no}: {path} does not exist")
            size = path.stat().st_size
            if size < to_send:
                raise DatasetError(f"{index}:{line_no}: {path} has {size} bytes, at least {to_send} needed")
            files.append(DatasetFile(len(files), name, path, num_classes, label, to_send, stride))
            if limit is not None and len(files) == limit:
                break
    if not files:
        raise DatasetError(f"{index}: no rows")
    return files
