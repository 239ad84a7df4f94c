"""An export inside a vendor's own firmware: a hand-written mps2-an386 port (mps2_an386_port/: its own
startup, UART and SysTick, nothing from tinyrig's templates) links the exported library, once found
as a CMake package and once as a PlatformIO library. Under QEMU, tinyrig's Dut gets the same lines
from both as from the firmware `tinyrig run` builds for the board, and the interpreter's scores."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyrig_testing import require_tools
from tinyrig_testing.kernel_checks import symbol_sizes
from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.build.pio import build_project
from tinyrig.codegen.export import export_library
from tinyrig.codegen.offline_platform import bundle_offline_platform
from tinyrig.hil.dut.client import Dut
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.hil.targets.qemu import QemuTarget

PORT = Path(__file__).resolve().parent / "mps2_an386_port"
BOARD = "qemu-mps2-an386"


@pytest.fixture(scope="module")
def kws_export(tmp_path_factory, models_dir) -> Path:
    require_tools("qemu-system-arm", "arm-none-eabi-gcc", "cmake")
    out = tmp_path_factory.mktemp("export") / "tinyrig-kws01"
    export_library(models_dir / "kws01.tflite", get_benchmark("kws01"), "cortex-m4", out)
    return out


def _cmake_port(export: Path, build: Path, *options: str) -> Path:
    configure = ["cmake", "-S", str(PORT), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={PORT / 'arm-none-eabi.cmake'}",
                 f"-DTINYRIG_EXPORT={export}", *options]
    for command in (configure, ["cmake", "--build", str(build), "-j", "2"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build / "port.elf"


def _platformio_port(export: Path, project: Path) -> Path:
    """The same port as a PlatformIO project (tinyrig's offline platform) with the export in lib_deps."""
    (project / "src").mkdir(parents=True)
    for name in ("port.c", "startup.c"):
        shutil.copy(PORT / name, project / "src" / name)
    shutil.copy(PORT / "mps2_an386.ld", project / "mps2_an386.ld")
    (project / "boards").mkdir()
    (project / "boards" / "mps2-an386-port.json").write_text(json.dumps({
        "build": {"cpu": "cortex-m4", "fpu": "fpv4-sp-d16", "mcu": "mps2-an386", "f_cpu": "25000000L"},
        "frameworks": [], "name": "mps2-an386 hand-written port", "url": "", "vendor": "test",
        "upload": {"maximum_size": 4 << 20, "maximum_ram_size": 4 << 20}}))
    bundle = bundle_offline_platform(project)
    (project / "platformio.ini").write_text(
        "[platformio]\nboards_dir = boards\n\n[env:port]\n"
        f"platform = symlink://{bundle.platform}\n"
        f"platform_packages = platformio/tool-scons@symlink://{bundle.scons}\n"
        "board = mps2-an386-port\nboard_build.ldscript = $PROJECT_DIR/mps2_an386.ld\n"
        f"lib_deps = symlink://{export}\nbuild_src_flags = -Werror\n")
    return build_project(project, "port").elf


def _answers(elf: Path, inputs: list[bytes]) -> list[tuple[str, bytes]]:
    """The m-results line and raw output bytes for each input, from `elf` under QEMU."""
    target = QemuTarget(load_board(BOARD))
    run = target.start(elf)
    try:
        with Dut(run.url, timeout_s=60) as dut:
            dut.open()
            answers = []
            for data in inputs:
                dut.load(data)
                lines = dut.infer(1, 0).lines
                answers.append((next(l for l in lines if l.startswith("m-results-")), dut.raw_output()))
            return answers
    finally:
        target.stop()


def _kws_inputs_and_answers(models_dir: Path) -> tuple[list[bytes], list[tuple[str, bytes]]]:
    """Inputs for kws01 and the interpreter's m-results line and raw outputs for each."""
    inputs = [np.random.default_rng(seed).integers(0, 256, 490, dtype=np.uint8).tobytes() for seed in (1, 2)]
    sample = models_dir.parent / "samples" / "kws01" / "ref_sample_kws.bin"
    if sample.is_file():
        inputs.append(sample.read_bytes())
    reference = ReferenceModel(models_dir / "kws01.tflite", get_benchmark("kws01"))
    return inputs, [("m-results-[" + ",".join(r.scores) + "]", r.raw) for r in map(reference.run, inputs)]


def test_hand_written_port_matches_tinyrig_run(kws_export, tmp_path, models_dir):
    inputs, expected = _kws_inputs_and_answers(models_dir)

    tinyrig_firmware = prepare_firmware(load_board(BOARD), get_benchmark("kws01"), models_dir / "kws01.tflite").build.elf
    assert _answers(tinyrig_firmware, inputs) == expected
    assert _answers(_cmake_port(kws_export, tmp_path / "cmake"), inputs) == expected
    assert _answers(_platformio_port(kws_export, tmp_path / "pio"), inputs) == expected


def test_flash_options_move_the_constants_to_ram_and_size_the_loops(kws_export, tmp_path, models_dir):
    """The export's options for a part whose flash has wait states, as a vendor sets them in CMake:
    every constant of the model (weights, tables, parameter blocks) is linked at a RAM address and
    copied there by the port's own startup; the conv runs are unrolled to fit a 1 KB flash cache
    (16 units are 1.5 KB); the scores stay the interpreter's."""
    elf = _cmake_port(kws_export, tmp_path / "cmake", "-DTINYRIG_CONSTANTS_IN_RAM=ON",
                      "-DTINYRIG_FLASH_ICACHE_BYTES=1024")
    symbols = subprocess.run(["arm-none-eabi-nm", "-S", "-C", str(elf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    constants = [line.split() for line in symbols if re.search(r"\bk_layer\d+_\w+$", line)]
    assert len(constants) > 20
    assert [c for c in constants if not 0x20000000 <= int(c[0], 16) < 0x20400000] == []  # the port's RAM
    runs = symbol_sizes(elf, r"\b(conv_run(_clamp)?(_1p)?(_rq3)?|quad_run(_clamp)?(_\d+)?)\(")
    assert runs and max(runs) < 1024, runs
    inputs, expected = _kws_inputs_and_answers(models_dir)
    assert _answers(elf, inputs) == expected
