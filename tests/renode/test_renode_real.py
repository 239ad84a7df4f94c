"""End to end under a real Renode: boot, identify, one measured window with pin markers.

Renode cannot be installed on tinyrig's own CI machines, so this skips there; a user's nightly job
with Renode on PATH runs it (`pytest -m renode tests/renode`)."""

from __future__ import annotations

import shutil

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.hil.dut.client import Dut
from tinyrig.hil.targets.renode import RenodeTarget
from tinyrig.models import find_model

pytestmark = pytest.mark.renode


@pytest.fixture
def renode_on_path():
    if shutil.which("renode") is None:
        pytest.skip("renode is not on PATH: only a real Renode can answer this test "
                    "(install it as docs/renode.md describes, then run pytest -m renode tests/renode)")


@pytest.mark.parametrize("board_name", ["renode-stm32f4-discovery", "renode-nucleo-f767zi"])
def test_benchmark_window_under_renode(renode_on_path, board_name, models_dir, tmp_path):
    board = load_board(board_name)
    bench = get_benchmark("kws01")
    elf = prepare_firmware(board, bench, find_model(bench.id, models_dir)).build.elf
    target = RenodeTarget(board, pin_log=tmp_path / "pins.log", workdir=tmp_path)
    try:
        run = target.start(elf)
        with Dut(run.url, timeout_s=60) as dut:
            assert dut.open(boot_timeout_s=60).model == bench.id
            run.new_window_marks()
            dut.load(bytes(bench.input_bytes))
            result = dut.infer(3, 1, timeout_s=600)
            assert result.window_us is not None and result.window_us > 0
            marks = run.new_window_marks()
            assert len(marks) == 2, run.events
            assert marks[1].instructions > marks[0].instructions
    finally:
        target.stop()
    assert run.exit_code() is not None
