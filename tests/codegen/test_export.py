"""`tinyrig export`: the model and the API shim as a library. Built with CMake for this computer with
the export's own host port, tinyrig's Dut drives it over a pseudo-terminal like a board's serial
port, and every score equals the tflite-micro interpreter's."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinyrig_testing import require_tools
from tinyrig.benchmarks import get_benchmark
from tinyrig.cli.main import main
from tinyrig.codegen.export import ExportError, export_library
from tinyrig.hil.dut.client import Dut
from tinyrig.hil.dut.reference import ReferenceModel

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STRICT = "-Wall -Wextra -Werror"


def cmake_build(source: Path, build: Path, *options: str) -> None:
    configure = ["cmake", "-S", str(source), "-B", str(build), f"-DCMAKE_C_FLAGS={STRICT}",
                 f"-DCMAKE_CXX_FLAGS={STRICT}", "-DCMAKE_BUILD_TYPE=Release", *options]
    for command in (configure, ["cmake", "--build", str(build), "-j", "2"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def kws_export(tmp_path_factory, models_dir) -> Path:
    out = tmp_path_factory.mktemp("export") / "tinyrig-kws01"
    export_library(models_dir / "kws01.tflite", get_benchmark("kws01"), "cortex-m4", out)
    return out


@pytest.fixture(scope="module")
def host_port(kws_export, tmp_path_factory) -> Path:
    require_tools("cmake", "gcc", "g++")
    build = tmp_path_factory.mktemp("host-build")
    cmake_build(kws_export, build, "-DTINYRIG_MLPERF_HOST_EXAMPLE=ON")
    return build / "tinyrig_host_port"


def test_the_api_shim_is_the_firmwares_own(kws_export):
    for name in ("internally_implemented.cpp", "internally_implemented.h"):
        assert (kws_export / "src" / "api" / name).read_text() == (TEMPLATES / "firmware" / "src" / "api" / name).read_text()
    assert (kws_export / "src" / "console.c").read_text() == (TEMPLATES / "firmware" / "src" / "console.c").read_text()
    header = (kws_export / "src" / "api" / "submitter_implemented.h").read_text()
    assert "#define TH_HAS_FAST_LOAD 0" in header and '"tinyrig ' in header and "@FIRMWARE_TAG@" not in header


def test_the_port_is_five_functions(kws_export):
    port = (kws_export / "include" / "tinyrig_port.h").read_text()
    declared = re.findall(r"^\w[\w ]*\b(tinyrig_port_\w+)\(", port, re.M)
    assert declared == ["tinyrig_port_console_putc", "tinyrig_port_console_getc", "tinyrig_port_timer_us",
                        "tinyrig_port_timestamp_pin", "tinyrig_port_energy_init"]


def test_every_build_description_names_the_same_sources(kws_export):
    sources = sorted(p.relative_to(kws_export).as_posix() for p in (kws_export / "src").rglob("*")
                     if p.suffix in (".c", ".cc", ".cpp"))
    listed = re.findall(r'"\$\{TINYRIG_MLPERF_DIR\}/([^"]+\.(?:c|cc|cpp))"', (kws_export / "cmake" / "tinyrig_mlperf.cmake").read_text())
    assert listed == sources
    library = json.loads((kws_export / "library.json").read_text())
    assert library["build"]["srcDir"] == "src" and library["build"]["includeDir"] == "include"
    assert "-ffp-contract=off" in library["build"]["flags"]
    module = (kws_export / "zephyr" / "module.yml").read_text()
    assert "cmake: zephyr" in module and "kconfig: zephyr/Kconfig" in module
    zephyr_cmake = (kws_export / "zephyr" / "CMakeLists.txt").read_text()
    assert "../cmake/tinyrig_mlperf.cmake" in zephyr_cmake and "TINYRIG_MLPERF_SOURCES" in zephyr_cmake
    assert "config TINYRIG_MLPERF\n" in (kws_export / "zephyr" / "Kconfig").read_text()


def test_host_port_scores_equal_the_interpreter(host_port, models_dir):
    device = subprocess.Popen([str(host_port), "--pty"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        console = device.stderr.readline().strip()
        assert console.startswith("console: /dev/"), console
        reference = ReferenceModel(models_dir / "kws01.tflite", get_benchmark("kws01"))
        rng = np.random.default_rng(11)
        inputs = [rng.integers(0, 256, 490, dtype=np.uint8).tobytes() for _ in range(3)]
        sample = models_dir.parent / "samples" / "kws01" / "ref_sample_kws.bin"
        if sample.is_file():
            inputs.append(sample.read_bytes())
        with Dut(console.removeprefix("console: "), timeout_s=60) as dut:
            profile = dut.open()
            assert profile.model == "kws01" and "cortex-m4-port performance" in profile.firmware
            assert dut.capabilities() == {"raw", "ticks"}
            for data in inputs:
                dut.load(data)
                result = dut.infer(2, 1)
                expected = reference.run(data)
                assert next(l for l in result.lines if l.startswith("m-results-")) == \
                    "m-results-[" + ",".join(expected.scores) + "]"
                assert dut.raw_output() == expected.raw
                start, end, hz = dut.window_ticks()
                assert hz == 1_000_000 and end > start  # the port's microseconds
    finally:
        device.terminate()
        device.wait(timeout=10)


def test_host_port_on_stdin_answers_and_ends_with_its_input(host_port):
    result = subprocess.run([str(host_port)], input=b"name%bogus%", capture_output=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout.decode().split("\r\n") == [
        "m-timestamp-mode-performance", "m-init-done", "m-ready", "m-name-dut-[tinyrig]", "m-ready",
        "e-[Unknown command: bogus]", "m-ready", ""]


def test_energy_mode_library_uses_the_default_energy_init(kws_export, tmp_path):
    require_tools("cmake", "gcc", "g++")
    cmake_build(kws_export, tmp_path, "-DTINYRIG_MLPERF_HOST_EXAMPLE=ON", "-DTINYRIG_ENERGY_MODE=ON")
    result = subprocess.run([str(tmp_path / "tinyrig_host_port")], input=b"timestamp%", capture_output=True, timeout=30)
    # Energy mode: the timestamp goes to the pin, nothing is printed for it.
    assert result.stdout.decode().split("\r\n") == ["m-timestamp-mode-energy", "m-init-done", "m-ready", "m-ready", ""]


def test_flash_options_are_off_by_default_and_a_bad_cache_size_is_named(kws_export, tmp_path):
    """The options for flash with wait states change nothing unless set; a cache size that is not a
    number of bytes stops the configure with one line naming the option and the value."""
    require_tools("cmake", "gcc", "g++")
    cache = (tmp_path / "ok" / "CMakeCache.txt")
    cmake_build(kws_export, tmp_path / "ok")
    assert "TINYRIG_CONSTANTS_IN_RAM:BOOL=OFF" in cache.read_text()
    flags = (tmp_path / "ok" / "CMakeFiles" / "tinyrig_mlperf.dir" / "flags.make").read_text()
    assert "TINYRIG_ENERGY_MODE=0" in flags and "TINYRIG_CONSTANTS_IN_RAM" not in flags
    assert "TINYRIG_FLASH_ICACHE_BYTES" not in flags
    result = subprocess.run(["cmake", "-S", str(kws_export), "-B", str(tmp_path / "bad"),
                             "-DTINYRIG_FLASH_ICACHE_BYTES=1K"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "TINYRIG_FLASH_ICACHE_BYTES is '1K': give the cache's size in bytes, or 0" in result.stderr


# Zephyr's library functions, each recording what the module's CMakeLists.txt hands it: the module's
# glue checked with plain CMake where Zephyr itself is not installed.
ZEPHYR_RECORDER = """cmake_minimum_required(VERSION 3.15)
project(zephyr_module_glue NONE)
foreach(fn zephyr_library_named zephyr_library_sources zephyr_include_directories
           zephyr_library_include_directories zephyr_library_compile_options zephyr_library_compile_definitions)
    cmake_language(EVAL CODE "function(${fn})\n file(APPEND \\"\\${CMAKE_BINARY_DIR}/calls.txt\\" \\"${fn} \\${ARGN}\\\\n\\")\nendfunction()")
endforeach()
include("${MODULE}/zephyr/CMakeLists.txt")
"""


@pytest.mark.parametrize("settings, definitions", [
    ({}, "TINYRIG_ENERGY_MODE=$<BOOL:>"),
    ({"CONFIG_TINYRIG_ENERGY_MODE": "y", "CONFIG_TINYRIG_CONSTANTS_IN_RAM": "y",
      "CONFIG_TINYRIG_FLASH_ICACHE_BYTES": "1024"},
     "TINYRIG_ENERGY_MODE=$<BOOL:y>;TINYRIG_CONSTANTS_IN_RAM=1;TINYRIG_FLASH_ICACHE_BYTES=1024"),
])
def test_zephyr_module_turns_its_kconfig_into_the_librarys_definitions(kws_export, tmp_path, settings, definitions):
    """The Zephyr module: its Kconfig parses as Kconfig (kconfiglib, the parser Zephyr's own build uses)
    and takes the prj.conf settings; its CMakeLists.txt hands them to the library as the same
    compile definitions the CMake package uses, and the sources of cmake/tinyrig_mlperf.cmake."""
    import kconfiglib

    require_tools("cmake")
    top = tmp_path / "Kconfig"
    top.write_text(f'config CPP\n\tbool "C++"\n\tdefault y\nsource "{kws_export / "zephyr" / "Kconfig"}"\n')
    conf = tmp_path / "prj.conf"
    conf.write_text("CONFIG_TINYRIG_MLPERF=y\n" + "".join(f"{k}={v}\n" for k, v in settings.items()))
    kconfig = kconfiglib.Kconfig(str(top), warn_to_stderr=False)
    kconfig.load_config(str(conf))
    assert kconfig.warnings == []
    values = {f"CONFIG_{name}": kconfig.syms[name].str_value for name in
              ("TINYRIG_MLPERF", "TINYRIG_ENERGY_MODE", "TINYRIG_CONSTANTS_IN_RAM", "TINYRIG_FLASH_ICACHE_BYTES")}
    assert values["CONFIG_TINYRIG_FLASH_ICACHE_BYTES"] == settings.get("CONFIG_TINYRIG_FLASH_ICACHE_BYTES", "0")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "CMakeLists.txt").write_text(ZEPHYR_RECORDER)
    # Zephyr passes a bool that is n as unset, as its CMake import of .config does.
    defines = [f"-D{k}={v}" for k, v in values.items() if v != "n"] + [f"-DMODULE={kws_export}"]
    result = subprocess.run(["cmake", "-S", str(tmp_path / "src"), "-B", str(tmp_path / "build"), *defines],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    calls = dict(line.split(" ", 1) for line in (tmp_path / "build" / "calls.txt").read_text().splitlines())
    assert calls["zephyr_library_named"] == "tinyrig_mlperf"
    assert calls["zephyr_library_compile_definitions"] == definitions
    assert calls["zephyr_library_compile_options"].startswith("-ffp-contract=off")
    sources = re.findall(r'"\$\{TINYRIG_MLPERF_DIR\}/([^"]+\.(?:c|cc|cpp))"',
                         (kws_export / "cmake" / "tinyrig_mlperf.cmake").read_text())
    assert len(sources) >= 8
    assert calls["zephyr_library_sources"] == ";".join(str(kws_export / s) for s in sources)


def test_unknown_core_is_refused(tmp_path, models_dir):
    with pytest.raises(ExportError, match="core 'cortex-m99' is not one tinyrig builds kernels for"):
        export_library(models_dir / "kws01.tflite", get_benchmark("kws01"), "cortex-m99", tmp_path / "x")


def test_streaming_benchmark_is_refused(tmp_path, models_dir):
    with pytest.raises(ExportError, match="sww01 streams audio"):
        export_library(models_dir / "sww01.tflite", get_benchmark("sww01"), "cortex-m4", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_export_command(tmp_path, models_dir):
    runner = CliRunner()
    out = tmp_path / "lib"
    result = runner.invoke(main, ["export", "--model", str(models_dir / "kws01.tflite"), "--core", "reference",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"exported kws01 for reference in {out}" in result.output
    assert not list((out / "src" / "model").glob("tinyrig_dsp_*"))  # portable kernels only
    wrong = runner.invoke(main, ["export", "--model", str(models_dir / "vww01.tflite"), "--benchmark", "kws01",
                                 "--core", "cortex-m4", "--out", str(tmp_path / "wrong")])
    assert wrong.exit_code == 3  # a model that cannot be compiled for the benchmark, as generate says
    lines = [line for line in wrong.output.splitlines() if line]
    assert lines == [f"error: {models_dir / 'vww01.tflite'}: model input [1, 96, 96, 3] (int8) does not take the "
                     "490 bytes the host sends for kws01"]
