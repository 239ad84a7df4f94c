"""The Renode boards build offline, and their images are laid out as the .resc assumes."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import all_boards
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.models import find_model

RENODE_BOARDS = [b for b in all_boards() if b.emulator.renode_platform]


def test_there_are_renode_boards():
    assert {b.name for b in RENODE_BOARDS} >= {"renode-stm32f4-discovery", "renode-nucleo-f767zi"}


@pytest.mark.slow
@pytest.mark.parametrize("board", RENODE_BOARDS, ids=lambda b: b.name)
def test_board_builds_with_vectors_at_the_flash_base(board, models_dir):
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-nm"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} on PATH (scripts/setup.sh installs it)")
    bench = get_benchmark("kws01")
    build = prepare_firmware(board, bench, find_model(bench.id, models_dir)).build
    assert build.size.flash_bytes <= board.flash.size and build.size.ram_bytes <= board.ram.size
    symbols = {}
    for line in subprocess.run(["arm-none-eabi-nm", str(build.elf)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        fields = line.split()
        if len(fields) == 3:
            symbols[fields[2]] = int(fields[0], 16)
    # `cpu VectorTableOffset <flash base>` in the .resc relies on this.
    assert symbols["g_vector_table"] == board.flash.base
    assert "board_pin_mark" in symbols  # the window markers the GPIO hook attributes by PC
