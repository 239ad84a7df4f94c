"""`kernels=` on render_project / prepare_firmware: the portable build benchmarks/kernels.py
compares against, generated without patching the code generator."""

from __future__ import annotations

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.codegen.firmware import render_project
from tinyrig.build.firmware_cache import project_dir


def _kernel_sources(project_dir_path) -> set[str]:
    return {p.name for p in (project_dir_path / "src" / "model").iterdir() if p.name.startswith("tinyrig_")}


def test_reference_override_renders_portable_kernels_only(models_dir, tmp_path):
    board, benchmark = load_board("qemu-mps3-an547"), get_benchmark("kws01")
    model = models_dir / "kws01.tflite"
    render_project(board, benchmark, model, tmp_path / "optimised")
    render_project(board, benchmark, model, tmp_path / "portable", kernels="reference")
    optimised, portable = _kernel_sources(tmp_path / "optimised"), _kernel_sources(tmp_path / "portable")
    assert any(name.startswith("tinyrig_mve_") for name in optimised), optimised
    assert not any(name.startswith(("tinyrig_mve_", "tinyrig_dsp_")) for name in portable), portable
    assert any(name.startswith("tinyrig_ref_") for name in portable), portable


def test_override_builds_are_cached_apart(models_dir):
    board, benchmark = load_board("qemu-mps2-an386"), get_benchmark("kws01")
    data = (models_dir / "kws01.tflite").read_bytes()
    assert project_dir(board, benchmark, data) != project_dir(board, benchmark, data, "reference")
    assert project_dir(board, benchmark, data) == project_dir(board, benchmark, data, None)
