"""The kernels room (codegen/kernels/, docs/kernels.md): families and ops found by
discovery, no import circle, and each variant's file set complete on its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyrig.codegen.hostbuild import HOST_CXXFLAGS
from tinyrig.codegen.kernels import discover_kernels, registry
from tinyrig.codegen.kernels.registry import REFERENCE, candidate_kernels, flat_file_name, kernel_file, kernel_files

KERNELS_DIR = Path(registry.__file__).resolve().parent


def _all_variants() -> list[registry.KernelVariant]:
    discover_kernels()
    return [variant for variants in registry._REGISTRY.values() for variant in variants]


def test_registry_imports_no_kernel_module():
    code = ("import sys, tinyrig.codegen.kernels.registry; "
            "print(sorted(m for m in sys.modules if m.startswith('tinyrig.codegen.kernels.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['tinyrig.codegen.kernels.registry']"


def test_discovery_finds_every_family_folder():
    families = {variant.variant for variant in _all_variants()}
    folders = {path.parent.name for path in KERNELS_DIR.glob("*/__init__.py")}
    assert families == folders == {"reference", "arm_dsp", "arm_mve"}


def test_variants_are_tried_best_first():
    discover_kernels()
    assert [(v.function, v.header) for v in candidate_kernels("conv2d_s8", "cortex-m55")] == [
        ("tinyrig::arm_mve::conv2d_window_s8", "arm_mve/tinyrig_mve_conv_window.h"),
        ("tinyrig::arm_mve::conv2d_s8", "arm_mve/tinyrig_mve_conv.h"),
        # The specialised kernels before the general one, in the order of their headers: the 2-D
        # band_quad (which declines 1x1), patch_quad (2-D windows on 1-3 channels: declines 1x1 and
        # channels in fours) and both 1x1 kernels (the 2x4 block declines pointwise8's layers, 8
        # input channels without a clamp) take disjoint layers.
        ("tinyrig::arm_dsp::conv2d_s8", "arm_dsp/tinyrig_dsp_band_quad.h"),
        ("tinyrig::arm_dsp::conv2d_s8", "arm_dsp/tinyrig_dsp_patch_quad.h"),
        ("tinyrig::arm_dsp::conv2d_s8", "arm_dsp/tinyrig_dsp_pointwise8.h"),
        ("tinyrig::arm_dsp::conv2d_s8", "arm_dsp/tinyrig_dsp_pointwise_quad.h"),
        ("tinyrig::arm_dsp::conv2d_s8", "arm_dsp/tinyrig_dsp_conv.h"),
        ("tinyrig::reference::conv2d_s8", "reference/tinyrig_ref_conv.h")]
    assert [v.variant for v in candidate_kernels("softmax_s8", "cortex-m4")] == [REFERENCE]
    assert all(v.specialize is None for v in _all_variants() if v.variant == REFERENCE)


def test_specialised_variants_keep_one_order_whatever_was_imported_first():
    """A test (or a plug-in) importing a kernel module before discovery registers it first; the
    order the engine tries the variants in must not depend on that."""
    code = ("import sys; from tinyrig.codegen.kernels.arm_dsp import {first}; "
            "from tinyrig.codegen.kernels import discover_kernels, registry; discover_kernels(); "
            "print([v.header for v in registry.candidate_kernels('conv2d_s8', 'cortex-m4')])")
    orders = {subprocess.run([sys.executable, "-c", code.format(first=module)], capture_output=True, text=True,
                             check=True).stdout for module in ("pointwise_quad", "patch_quad", "band_quad", "conv", "add")}
    assert len(orders) == 1, orders


def test_kernel_file_names_are_unique_and_all_indexed():
    on_disk = sorted(str(p.relative_to(KERNELS_DIR)) for p in KERNELS_DIR.rglob("*") if p.suffix in (".h", ".cc"))
    assert sorted(registry.kernel_paths().values()) == on_disk


# The native (assembly / intrinsics) paths need the family's core; the host g++ builds
# the portable fallbacks. The firmware's C++ flags (tinyrig/platformio/platform/builder/main.py).
NATIVE_CPU = {"reference": "cortex-m4", "arm_dsp": "cortex-m4", "arm_mve": "cortex-m55"}
FIRMWARE_CXXFLAGS = ("-mthumb", "-mfloat-abi=hard", "-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu++17",
                     "-fno-exceptions", "-fno-rtti")


def _compile_commands(variant) -> list[list[str]]:
    commands = [["g++", *HOST_CXXFLAGS]]
    if shutil.which("arm-none-eabi-g++"):
        commands.append(["arm-none-eabi-g++", f"-mcpu={NATIVE_CPU[variant.variant]}", *FIRMWARE_CXXFLAGS])
    return commands


@pytest.mark.parametrize("variant", _all_variants(), ids=lambda v: f"{v.variant}-{v.function.rsplit(':', 1)[-1]}")
def test_each_variant_compiles_from_its_own_files(variant, tmp_path):
    """Its header declares the function, and its .cc files compile warning-free (-Werror;
    host g++ and arm-none-eabi-g++ for the family's core) with nothing but the files
    kernel_files() gives it."""
    files = kernel_files(variant)
    assert f" {variant.function.rsplit('::', 1)[-1]}(" in kernel_file(variant.header)
    for path in files:
        (tmp_path / flat_file_name(path)).write_text(kernel_file(path))
    for command in _compile_commands(variant):
        for source in (flat_file_name(p) for p in files if p.endswith(".cc")):
            result = subprocess.run([*command, "-I.", "-c", source, "-o", "/dev/null"], cwd=tmp_path,
                                    capture_output=True, text=True)
            assert result.returncode == 0 and "warning" not in result.stderr, f"{command[0]}: {result.stderr}"
