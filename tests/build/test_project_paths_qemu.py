"""A generated project builds wherever a user keeps it: a folder named "My Projects" or "Müller"
(a space or non-ASCII letters in the path) is as good as any. Real PlatformIO, SCons and gcc."""

from __future__ import annotations

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.build.pio import build_project
from tinyrig.codegen.firmware import render_project
from tinyrig_testing import require_tools


def test_a_project_under_a_path_with_a_space_and_non_ascii_letters_builds(tmp_path, models_dir):
    require_tools("arm-none-eabi-gcc")
    project = tmp_path / "My Projects" / "Müller kws01"
    render_project(load_board("qemu-mps2-an386"), get_benchmark("kws01"), models_dir / "kws01.tflite", project)

    # Before the fix the link step split the map file's path at the space: "ld: cannot find Projects/...".
    result = build_project(project, "perf")

    assert result.elf.is_file()
    assert (result.elf.parent / "program.map").is_file()
    assert result.size.flash_bytes > 0
