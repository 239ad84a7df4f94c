"""The firmware cache key covers everything that changes the image: a changed board file always rebuilds."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.build import firmware_cache
from tinyrig.codegen.firmware import render_project

BOARD_FILE = "qemu-mps2-an386"


def _copy_board(tmp_path, replace: tuple[str, str] | None = None):
    source = load_board(BOARD_FILE).path
    target = tmp_path / f"{BOARD_FILE}.toml"
    text = source.read_text()
    if replace:
        assert replace[0] in text, replace[0]
        text = text.replace(*replace)
    target.write_text(text)
    return target


def test_a_changed_board_file_changes_the_key_and_the_linker_script(tmp_path, models_dir):
    model = models_dir / "kws01.tflite"
    kws = get_benchmark("kws01")
    path = _copy_board(tmp_path)
    before = load_board(path)
    key_before = firmware_cache.project_dir(before, kws, model.read_bytes())
    text = path.read_text()
    ram_line = next(line for line in text.splitlines() if line.strip().startswith("size") and "0x" in line
                    and text.index(line) > text.index("[memory.ram]"))
    path.write_text(text.replace(ram_line, "size = 0x00200000", 1))
    after = load_board(path)
    assert after.ram.size == 0x00200000 != before.ram.size
    key_after = firmware_cache.project_dir(after, kws, model.read_bytes())
    assert key_after != key_before, "the same cache folder for a board file with another RAM size"

    old = render_project(before, kws, model, tmp_path / "old")
    new = render_project(after, kws, model, tmp_path / "new")
    (linker,) = [f for f in old.files if str(f).endswith(".ld")]
    old_text, new_text = (old.directory / linker).read_text(), (new.directory / linker).read_text()
    assert old_text != new_text
    assert "0x200000" in new_text.lower() or "2048K" in new_text


def test_the_same_content_gives_the_same_key(tmp_path, models_dir):
    model = (models_dir / "ad01.tflite").read_bytes()
    ad01 = get_benchmark("ad01")
    one = firmware_cache.project_dir(load_board(_copy_board(tmp_path)), ad01, model)
    two = firmware_cache.project_dir(load_board(_copy_board(tmp_path)), ad01, model)
    assert one == two


def test_model_bytes_kernels_and_toolchain_are_in_the_key(tmp_path, models_dir, monkeypatch):
    board = load_board(BOARD_FILE)
    ad01 = get_benchmark("ad01")
    model = (models_dir / "ad01.tflite").read_bytes()
    base = firmware_cache.project_dir(board, ad01, model)
    assert firmware_cache.project_dir(board, ad01, model + b"\0") != base
    assert firmware_cache.project_dir(board, ad01, model, kernels="reference") != base
    monkeypatch.setattr(firmware_cache, "toolchain_version", lambda: "arm-none-eabi-gcc 99.0")
    assert firmware_cache.project_dir(board, ad01, model) != base


@pytest.mark.qemu
def test_prepare_firmware_rebuilds_after_a_board_edit(tmp_path, models_dir, monkeypatch):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("needs arm-none-eabi-gcc")
    monkeypatch.setenv("TINYRIG_CACHE", str(tmp_path / "cache"))
    model = models_dir / "ad01.tflite"
    ad01 = get_benchmark("ad01")
    path = _copy_board(tmp_path)
    first = firmware_cache.prepare_firmware(load_board(path), ad01, model)
    path.write_text(path.read_text().replace("[memory.ram]", "# RAM region as edited by a user\n[memory.ram]"))
    second = firmware_cache.prepare_firmware(load_board(path), ad01, model)
    assert second.project.directory != first.project.directory
    assert second.build.elf.is_file()


@pytest.mark.qemu
def test_constants_go_back_to_flash_when_the_mcu_link_does_not_fit(tmp_path, models_dir, monkeypatch):
    """constants_in_ram decides from an estimate of the harness's RAM; should it ever under-count, the
    link's RAM overflow is not the user's error: the image is rebuilt with the constants in flash."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("needs arm-none-eabi-gcc")
    from dataclasses import replace

    from tinyrig.boards.schema import MemoryRegion
    from tinyrig.codegen import firmware
    from tinyrig.codegen.engine import compile_model

    monkeypatch.setenv("TINYRIG_CACHE", str(tmp_path / "cache"))
    model, kws = models_dir / "kws01.tflite", get_benchmark("kws01")
    compiled = compile_model(model, core="cortex-m4")
    l4r5 = load_board("nucleo-l4r5zi")
    # 8 KiB short of the constants placed in RAM, and an estimate told the harness needs nothing.
    short = firmware.ram_needed_with_constants(compiled, kws) - firmware.HARNESS_OTHER_RAM_BYTES - 8 * 1024
    board = replace(l4r5, ram=MemoryRegion(base=l4r5.ram.base, size=short))
    monkeypatch.setattr(firmware, "HARNESS_OTHER_RAM_BYTES", -16 * 1024)
    assert firmware.place_constants(board, compiled, kws).every_layer
    built = firmware_cache.prepare_firmware(board, kws, model)
    assert not built.project.constants_in_ram
    assert not firmware.FirmwareProject.load(built.project.directory).constants_in_ram  # the cache keeps it
    assert "-DTINYRIG_CONSTANTS_IN_RAM" not in (built.project.directory / "platformio.ini").read_text()
    assert 0 < built.build.size.ram_bytes <= short
    # A link that fails for another reason still fails.
    tiny = replace(l4r5, ram=MemoryRegion(base=l4r5.ram.base, size=16 * 1024))
    with pytest.raises(firmware_cache.BuildError) as info:
        firmware_cache.prepare_firmware(tiny, kws, model)
    assert info.value.ram_overflow and "overflow" in str(info.value).splitlines()[0]


# Another tinyrig preparing the same project: holds its lock until a line arrives on stdin.
HOLD_PROJECT = """
import sys
from pathlib import Path
from tinyrig.build.firmware_cache import project_lock
with project_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.qemu
def test_prepare_firmware_waits_while_another_process_prepares_the_same_project(tmp_path, models_dir, monkeypatch):
    """Two tinyrigs sharing a cache (CI jobs, a performance and an energy run started together) must
    not generate into one project folder while PlatformIO compiles it: the second waits."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("needs arm-none-eabi-gcc")
    monkeypatch.setenv("TINYRIG_CACHE", str(tmp_path / "cache"))
    model, ad01, board = models_dir / "ad01.tflite", get_benchmark("ad01"), load_board(BOARD_FILE)
    directory = firmware_cache.project_dir(board, ad01, model.read_bytes())
    holder = subprocess.Popen([sys.executable, "-c", HOLD_PROJECT, str(directory)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        prepared = {}
        worker = threading.Thread(target=lambda: prepared.update(
            firmware=firmware_cache.prepare_firmware(board, ad01, model)))
        worker.start()
        worker.join(2.0)
        assert worker.is_alive() and not directory.exists()  # waiting, nothing generated yet
        holder.communicate("\n", timeout=30)
        worker.join(600)
        assert not worker.is_alive() and prepared["firmware"].build.elf.is_file()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
