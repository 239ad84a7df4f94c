"""One distribution, one import namespace: the wheel holds `tinyrig` and everything the firmware
generator needs at run time (templates, the PlatformIO platform, kernels, boards, the QEMU plugin
source), and no top-level `codegen` or `hil` modules."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_layout(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                           "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("tinyrig-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"tinyrig", wheel.name.split("-py3")[0] + ".dist-info"}
    for needed in ("tinyrig/cli/main.py", "tinyrig/codegen/engine.py", "tinyrig/hil/dut/client.py",
                   "tinyrig/hil/instruments/trace.py", "tinyrig/hil/targets/registry.py", "tinyrig/hil/results/tables.py",
                   "tinyrig/hil/modes/accuracy.py", "tinyrig/boards/qemu-mps2-an386.toml",
                   "tinyrig/templates/firmware/src/api/internally_implemented.cpp",
                   "tinyrig/templates/firmware/platformio.ini.j2", "tinyrig/platformio/platform/platform.json",
                   "tinyrig/platformio/platform/builder/main.py", "tinyrig/platformio/tool-scons/package.json",
                   "tinyrig/codegen/kernels/tinyrig_fixedpoint.h", "tinyrig/codegen/kernels/arm_dsp/tinyrig_dsp_conv.cc",
                   "tinyrig/codegen/kernels/arm_mve/conv.py", "tinyrig/codegen/runtime/tinyrig_profile.h",
                   "tinyrig/hil/targets/qemu_plugin/pinwatch.c",
                   "tinyrig/renode/scripts.py", "tinyrig/renode/version.py",
                   "tinyrig/renode/platforms/nucleo_f767zi.repl", "tinyrig/codegen/export.py",
                   "tinyrig/codegen/offline_platform.py", "tinyrig/templates/export/include/tinyrig_port.h",
                   "tinyrig/templates/export/zephyr/module.yml", "tinyrig/templates/firmware/README.md.j2"):
        assert needed in names, needed
    entry_points = zipfile.ZipFile(wheel).read(wheel.name.split("-py3")[0] + ".dist-info/entry_points.txt").decode()
    assert "tinyrig = tinyrig.cli.main:main" in entry_points and "tinyrig = tinyrig.hil.run.pytest_plugin" in entry_points


def test_import_from_outside_the_repo(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import tinyrig, tinyrig.codegen.engine, tinyrig.hil.run.runner; "
                           "print(tinyrig.__version__)"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for name in ("codegen", "hil"):
        gone = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, cwd=tmp_path, timeout=60)
        assert gone.returncode != 0, f"a top-level module {name!r} is importable"
