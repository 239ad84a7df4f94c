"""The batched path cuts and groups inputs exactly as the one-at-a-time path's dataset reader does."""

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.hil.dut.client import batch_file_bytes
from tinyrig.hil.dut.dataset import read_index, window_count
from tinyrig.hil.modes.accuracy_batched import plan_batches


def write(folder, name, data):
    (folder / name).write_bytes(data)


@pytest.mark.parametrize("size,stride", [(2560, 512), (2561, 512), (3071, 512), (3072, 512), (102400, 512),
                                         (102400, 2560), (5120, 5120), (7000, 1), (2559, 512)])
def test_window_count_is_the_host_windowing(tmp_path, size, stride):
    bench = get_benchmark("ad01")
    folder = tmp_path / "ad01"
    folder.mkdir()
    data = bytes(i % 251 for i in range(size))
    write(folder, "f.bin", data)
    (folder / "y_labels.csv").write_text(f"f.bin,2,0,2560,{stride}\n")
    if size < 2560:
        assert window_count(size, 2560, stride) == 0
        return
    (item,) = read_index(bench, tmp_path)
    windows = item.windows()
    assert window_count(size, 2560, stride) == len(windows)
    # What the firmware reads for input i: data offset i * stride, 2,560 bytes.
    assert windows == [data[i * stride : i * stride + 2560] for i in range(len(windows))]
    assert windows[-1] == data[(len(windows) - 1) * stride :][:2560] and len(windows[-1]) == 2560
    (batch,) = plan_batches([item], 2560)
    assert batch.data == data and batch.stride == stride and batch.windows == [windows]


def test_single_input_files_grouped_and_windowed_files_alone(tmp_path):
    bench = get_benchmark("kws01")
    folder = tmp_path / "kws01"
    folder.mkdir()
    rows = []
    for i in range(7):
        write(folder, f"in{i}.bin", bytes([i]) * 490 + b"tail")  # a longer file sends its first 490 bytes
        rows.append(f"in{i}.bin,12,{i}")
    write(folder, "long.bin", bytes(range(256)) * 4)
    rows.insert(4, "long.bin,12,0,490,100")
    (folder / "y_labels.csv").write_text("\n".join(rows) + "\n")
    files = read_index(bench, tmp_path)
    batches = list(plan_batches(files, 490, batch_inputs=3))
    assert [[f.name for f in b.files] for b in batches] == [["in0.bin", "in1.bin", "in2.bin"], ["in3.bin"],
                                                              ["long.bin"], ["in4.bin", "in5.bin", "in6.bin"]]
    assert batches[0].data == bytes([0]) * 490 + bytes([1]) * 490 + bytes([2]) * 490
    assert batches[0].stride == 490
    assert batches[2].stride == 100 and batches[2].windows == [files[4].windows()] and len(batches[2].windows[0]) == 6


def test_batch_file_layout():
    assert batch_file_bytes(490, 100, b"xyz") == b"TRBT" + (490).to_bytes(4, "little") + (100).to_bytes(4, "little") + b"xyz"
