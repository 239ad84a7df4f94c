"""The constants a kernel's Python specialisation mirrors from its C/assembly source agree.

A specialisation sizes scratch, picks runs and estimates cycles from numbers the kernel source
defines again (pass sizes, record lengths, the steps a run exists for). Nothing links the two
copies, so a change on one side would leave the other silently wrong: a run that does not exist,
a record read at the wrong stride, a cost estimate choosing the slower kernel. Each twin here is
checked by the compiler itself: the kernel source is included into a translation unit of
static_asserts against the Python values, compiled (syntax only) for the host with and without a
small flash instruction cache, the two builds the firmware makes.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tinyrig.codegen import firmware
from tinyrig.codegen.kernels.arm_dsp import (band_quad, conv, depthwise, depthwise_column, fully_connected,
                                             pointwise8, pointwise_quad, quad_stream)
from tinyrig.codegen.kernels.arm_mve import depthwise as mve_depthwise

KERNELS = Path(conv.__file__).resolve().parents[1]  # codegen/kernels
SMALL_CACHE = 1024  # nucleo-l4r5zi's ART cache (firmware.loop_cache_bytes passes it on)


@dataclass(frozen=True)
class Twin:
    source: str  # under codegen/kernels
    c_expr: str  # a constant expression, or an X-macro list when `expected` is a tuple
    expected: int | tuple[int, ...]
    python: str  # where the Python side lives, for the message
    cache: int | None = None  # TINYRIG_FLASH_ICACHE_BYTES of the build (None: not defined, no small cache)


TWINS = [
    # The threshold itself: a cache of SMALL_ICACHE_BYTES is not small, one byte less is.
    Twin("arm_dsp/tinyrig_dsp_common.h", "TINYRIG_SMALL_FLASH_ICACHE", 0, "firmware.py SMALL_ICACHE_BYTES",
         firmware.SMALL_ICACHE_BYTES),
    Twin("arm_dsp/tinyrig_dsp_common.h", "TINYRIG_SMALL_FLASH_ICACHE", 1, "firmware.py SMALL_ICACHE_BYTES",
         firmware.SMALL_ICACHE_BYTES - 1),
    Twin("arm_dsp/tinyrig_dsp_conv.cc", "kPixels", conv.CONV_PIXELS, "conv.py CONV_PIXELS"),
    Twin("arm_dsp/tinyrig_dsp_conv.cc", "kPassUnits", conv.PASS_UNITS, "conv.py PASS_UNITS"),
    Twin("arm_dsp/tinyrig_dsp_conv.cc", "kPassUnits", conv.SMALL_CACHE_PASS_UNITS,
         "conv.py SMALL_CACHE_PASS_UNITS", SMALL_CACHE),
    Twin("arm_dsp/tinyrig_dsp_conv.cc", "kBandPassUnits", conv.BAND_PASS_UNITS, "conv.py BAND_PASS_UNITS"),
    Twin("arm_dsp/tinyrig_dsp_conv.cc", "kBandPassUnits", conv.SMALL_CACHE_BAND_PASS_UNITS,
         "conv.py SMALL_CACHE_BAND_PASS_UNITS", SMALL_CACHE),
    Twin("arm_dsp/tinyrig_dsp_conv.cc", "TINYRIG_BAND_PIXEL_BYTES", conv.BAND_PIXEL_BYTES,
         "conv.py BAND_PIXEL_BYTES"),
    Twin("arm_dsp/tinyrig_dsp_pointwise_quad.cc", "kPassUnits", pointwise_quad.PASS_UNITS,
         "pointwise_quad.py PASS_UNITS"),
    Twin("arm_dsp/tinyrig_dsp_pointwise_quad.cc", "kPassUnits", pointwise_quad.SMALL_CACHE_PASS_UNITS,
         "pointwise_quad.py SMALL_CACHE_PASS_UNITS", SMALL_CACHE),
    Twin("arm_dsp/tinyrig_dsp_pointwise_quad.cc", "TINYRIG_QUAD_STRAIGHT_UNITS",
         tuple(range(1, pointwise_quad.STRAIGHT_UNITS + 1)), "pointwise_quad.py STRAIGHT_UNITS"),
    Twin("arm_dsp/tinyrig_dsp_band_quad.cc", "kPassUnits", band_quad.PASS_UNITS, "band_quad.py PASS_UNITS"),
    Twin("arm_dsp/tinyrig_dsp_band_quad.cc", "kPassUnits", band_quad.SMALL_CACHE_PASS_UNITS,
         "band_quad.py SMALL_CACHE_PASS_UNITS", SMALL_CACHE),
    Twin("arm_dsp/tinyrig_dsp_band_quad.cc", "TINYRIG_BQ_PIXEL_BYTES", band_quad.PIXEL_BYTES,
         "band_quad.py PIXEL_BYTES"),
    Twin("arm_dsp/tinyrig_dsp_quad_epilogue.h", "kQuadEpilogueWords", quad_stream.EPILOGUE_WORDS,
         "quad_stream.py EPILOGUE_WORDS"),
    Twin("arm_dsp/tinyrig_dsp_depthwise.cc", "kMaxFilterH", depthwise.DW_MAX_FILTER_H,
         "depthwise.py DW_MAX_FILTER_H"),
    Twin("arm_dsp/tinyrig_dsp_depthwise.cc", "kDwAccAlign", depthwise.DW_LINE_MAX_ACC_BYTES,
         "depthwise.py DW_LINE_MAX_ACC_BYTES"),
    Twin("arm_dsp/tinyrig_dsp_depthwise.cc", "kRecordWords", depthwise.LINE_RECORD_WORDS,
         "depthwise.py LINE_RECORD_WORDS"),
    Twin("arm_dsp/tinyrig_dsp_depthwise.cc", "kPlaneSlots", depthwise.DW_PLANE_SLOTS, "depthwise.py DW_PLANE_SLOTS"),
    Twin("arm_dsp/tinyrig_dsp_depthwise.cc", "kPlaneMaxSteps", depthwise.DW_PLANE_MAX_STEPS,
         "depthwise.py DW_PLANE_MAX_STEPS"),
    Twin("arm_dsp/tinyrig_dsp_depthwise_column.cc", "kLanes", depthwise_column.LANES, "depthwise_column.py LANES"),
    Twin("arm_dsp/tinyrig_dsp_fully_connected.cc", "kRows", fully_connected.FC_OUTPUTS,
         "fully_connected.py FC_OUTPUTS"),
    Twin("arm_dsp/tinyrig_dsp_pointwise8.cc", "kChunk", pointwise8.CHUNK_PIXELS, "pointwise8.py CHUNK_PIXELS"),
    Twin("arm_dsp/tinyrig_dsp_pointwise8.cc", "kBlockStride", pointwise8.BLOCK_STRIDE,
         "pointwise8.py BLOCK_STRIDE"),
    Twin("arm_mve/tinyrig_mve_depthwise.cc", "kMaxFilterH", mve_depthwise.DW_MAX_FILTER_H,
         "arm_mve/depthwise.py DW_MAX_FILTER_H"),
]


def _assertions(twins: list[Twin]) -> str:
    lines = []
    for i, t in enumerate(twins):
        message = f"{t.python} differs from {t.source} {t.c_expr}"
        if isinstance(t.expected, tuple):
            lines.append(f"#define TINYRIG_TWIN_ITEM_{i}(V) V,")
            lines.append(f"constexpr long long twin_{i}[] = {{{t.c_expr}(TINYRIG_TWIN_ITEM_{i})}};")
            lines.append(f'static_assert(sizeof(twin_{i}) / sizeof(twin_{i}[0]) == {len(t.expected)}, "{message}");')
            lines += [f'static_assert(twin_{i}[{j}] == {v}, "{message}");' for j, v in enumerate(t.expected)]
        else:
            lines.append(f'static_assert(static_cast<long long>({t.c_expr}) == {t.expected}, "{message}");')
    return "\n".join(lines) + "\n"


def _check(source: str, cache: int | None, twins: list[Twin], workdir: Path) -> str:
    """The compiler's errors for one source and build ('' when every twin holds)."""
    unit = workdir / f"{Path(source).stem}_{cache}.cc"
    family = Path(source).parts[0]  # the kernels' namespace: tinyrig::arm_dsp, tinyrig::arm_mve
    unit.write_text(f'#include "{Path(source).name}"\nusing namespace tinyrig::{family};\n' + _assertions(twins))
    defines = [] if cache is None else [f"-DTINYRIG_FLASH_ICACHE_BYTES={cache}"]
    includes = [f"-I{KERNELS / d}" for d in ("", "arm_dsp", "arm_mve", "reference")]
    done = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", "-w", *defines, *includes, str(unit)],
                          capture_output=True, text=True)
    return "" if done.returncode == 0 else done.stderr


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs the host g++")
def test_every_c_twin_equals_its_python_constant(tmp_path):
    groups: dict[tuple[str, int | None], list[Twin]] = {}
    for twin in TWINS:
        groups.setdefault((twin.source, twin.cache), []).append(twin)
    with ThreadPoolExecutor(4) as pool:
        errors = list(pool.map(lambda key: _check(*key, groups[key], tmp_path), groups))
    failed = [e for e in errors if e]
    assert not failed, "\n".join(failed)


def test_a_differing_twin_fails_and_names_both_sides(tmp_path):
    twin = Twin("arm_dsp/tinyrig_dsp_conv.cc", "kPassUnits", conv.PASS_UNITS + 1, "conv.py PASS_UNITS")
    errors = _check(twin.source, None, [twin], tmp_path)
    assert "conv.py PASS_UNITS differs from arm_dsp/tinyrig_dsp_conv.cc kPassUnits" in errors
    listed = Twin("arm_dsp/tinyrig_dsp_band_quad.cc", "TINYRIG_BQ_PIXEL_BYTES", band_quad.PIXEL_BYTES[:-1],
                  "band_quad.py PIXEL_BYTES")
    assert "band_quad.py PIXEL_BYTES differs" in _check(listed.source, None, [listed], tmp_path)
