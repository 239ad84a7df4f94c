"""A render that stops half-way never leaves a project the firmware cache takes as whole.

The manifest (tinyrig.json) is what the cache trusts; render_project rewrote the sources under an
older project's manifest and wrote the new manifest last. Stopped in between (Ctrl-C, a full disk,
here a file it cannot write), the old manifest vouched for a project missing its platformio.ini,
and every later run failed to build it ("not a PlatformIO project") until the cache was cleared.
Real PlatformIO and gcc."""

from __future__ import annotations

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.codegen.firmware import MANIFEST_NAME, render_project
from tinyrig_testing import require_tools

pytestmark = pytest.mark.qemu


def test_a_render_stopped_half_way_is_redone_by_the_next_run(tmp_path, models_dir, monkeypatch):
    require_tools("arm-none-eabi-gcc")
    monkeypatch.setenv("TINYRIG_CACHE", str(tmp_path / "cache"))
    board, kws, model = load_board("qemu-mps2-an386"), get_benchmark("kws01"), models_dir / "kws01.tflite"
    first = prepare_firmware(board, kws, model)
    project = first.project.directory

    # A second render of the same project (as after a link that overflowed RAM) stops before it has
    # written platformio.ini: a folder stands where the file goes.
    (project / "platformio.ini").unlink()
    (project / "platformio.ini").mkdir()
    with pytest.raises(IsADirectoryError):
        render_project(board, kws, model, project)
    assert not (project / MANIFEST_NAME).exists(), "no manifest vouches for a half-written project"

    (project / "platformio.ini").rmdir()  # the obstacle gone, the next run regenerates and builds
    again = prepare_firmware(board, kws, model)
    assert again.project.directory == project
    assert again.build.elf.is_file() and again.build.size.flash_bytes == first.build.size.flash_bytes
