"""The contract of the generated code that firmware templates rely on: tinyrig_model.h
macros and C-linkage functions, the profiling hooks, flash-resident constants and an
inference path free of allocation and stdio."""

from __future__ import annotations

import re
import subprocess

import pytest

from tinyrig_testing.engine_reference_data import reference_model_path
from tinyrig.codegen.engine import compile_model

REQUIRED_MACROS = (
    "TINYRIG_MODEL_INPUT_BYTES", "TINYRIG_MODEL_OUTPUT_BYTES", "TINYRIG_MODEL_INPUT_ELEMENTS",
    "TINYRIG_MODEL_OUTPUT_ELEMENTS", "TINYRIG_MODEL_INPUT_IS_FLOAT", "TINYRIG_MODEL_OUTPUT_IS_FLOAT",
    "TINYRIG_MODEL_INPUT_SCALE", "TINYRIG_MODEL_INPUT_ZERO_POINT", "TINYRIG_MODEL_OUTPUT_SCALE",
    "TINYRIG_MODEL_OUTPUT_ZERO_POINT", "TINYRIG_MODEL_ARENA_BYTES", "TINYRIG_MODEL_LAYER_COUNT",
)


@pytest.fixture(scope="module")
def kws():
    return compile_model(reference_model_path("kws01"))


def macros(header: str) -> dict[str, str]:
    return dict(re.findall(r"^#define (TINYRIG_MODEL_\w+)\s+(\S+)$", header, flags=re.M))


def test_header_defines_the_contract(kws):
    defined = macros(kws.files["tinyrig_model.h"])
    assert set(REQUIRED_MACROS) <= set(defined)
    assert defined["TINYRIG_MODEL_INPUT_BYTES"] == "490"
    assert defined["TINYRIG_MODEL_OUTPUT_BYTES"] == defined["TINYRIG_MODEL_OUTPUT_ELEMENTS"] == "12"
    assert defined["TINYRIG_MODEL_INPUT_IS_FLOAT"] == defined["TINYRIG_MODEL_OUTPUT_IS_FLOAT"] == "0"
    assert defined["TINYRIG_MODEL_INPUT_ZERO_POINT"] == "83"
    assert defined["TINYRIG_MODEL_OUTPUT_SCALE"] == "0.00390625f"
    assert defined["TINYRIG_MODEL_ARENA_BYTES"] == str(kws.arena_bytes)
    assert defined["TINYRIG_MODEL_LAYER_COUNT"] == str(len(kws.layers)) == "13"
    assert kws.input.shape == (1, 49, 10, 1) and kws.output.dtype == "int8"


def test_header_is_usable_from_c(kws, tmp_path):
    kws.write(tmp_path)
    (tmp_path / "use.c").write_text(
        '#include "tinyrig_model.h"\n'
        "float scale(void) { return TINYRIG_MODEL_INPUT_SCALE; }\n"
        "void run(void) { (void)tinyrig_model_input(); tinyrig_model_invoke(); (void)tinyrig_model_output(); }\n")
    result = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-c", "use.c"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_constants_are_aligned_flash_arrays_and_no_allocation_or_stdio(kws):
    source = kws.files["tinyrig_model.cc"]
    arrays = re.findall(r"^(.*)\bk_layer\d+_\w+\[\d+\] = \{", source, flags=re.M)
    # TINYRIG_CONSTANT is empty unless a build moves the constants to RAM (codegen/firmware.py).
    assert arrays and all(prefix.startswith("TINYRIG_CONSTANT alignas(16) const ") for prefix in arrays)
    assert re.search(r"^alignas\(16\) uint8_t g_arena\[TINYRIG_MODEL_ARENA_BYTES\];", source, flags=re.M)
    forbidden = re.compile(r"\b(malloc|calloc|realloc|free|new|delete|printf|fprintf|puts|std::vector)\b")
    for name, text in kws.files.items():
        code = re.sub(r"//.*", "", text)
        assert not forbidden.search(code), f"{name}: {forbidden.search(code).group(0)}"


def test_profiling_hooks_wrap_every_layer_in_order(kws, tmp_path):
    kws.write(tmp_path)
    (tmp_path / "hooks.h").write_text(
        "#ifdef __cplusplus\nextern \"C\" {\n#endif\n"
        "void hook(int begin, int layer);\n"
        "#ifdef __cplusplus\n}\n#endif\n"
        "#define TINYRIG_LAYER_BEGIN(index) hook(1, index)\n"
        "#define TINYRIG_LAYER_END(index) hook(0, index)\n")
    (tmp_path / "main.cc").write_text(
        "#include <cstdio>\n#include \"tinyrig_model.h\"\n"
        "extern \"C\" void hook(int begin, int layer) { std::printf(\"%c%d \", begin ? 'B' : 'E', layer); }\n"
        "int main() { tinyrig_model_invoke(); return 0; }\n")
    sources = sorted(n for n in kws.files if n.endswith(".cc")) + ["main.cc"]
    build = subprocess.run(["g++", "-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-include", "hooks.h",
                            "-I.", "-o", "hooked", *sources], cwd=tmp_path, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    trace = subprocess.run(["./hooked"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert trace == [f"{kind}{i}" for i in range(len(kws.layers)) for kind in "BE"]


def test_layer_table(kws):
    ops = [layer.op for layer in kws.layers]
    assert ops[:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"] and ops[-3:] == ["RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    reshape = kws.layers[10]
    assert reshape.kernel is None and reshape.macs == 0
    conv = kws.layers[0]
    assert conv.variant == "reference" and conv.kernel == "tinyrig::reference::conv2d_s8"
    assert conv.macs == 25 * 5 * 64 * 10 * 4 and conv.param_bytes == 2560 + 3 * 64 * 4
    assert sum(layer.param_bytes for layer in kws.layers) == kws.weight_bytes
