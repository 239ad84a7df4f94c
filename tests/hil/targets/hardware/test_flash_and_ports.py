"""Probe choice, flashing checks, port discovery and the hardware target, without hardware.

pyOCD's probe enumeration is the only thing replaced (there is no USB probe here); the choice
logic, pyOCD's own ConnectHelper, target lookup, ELF parsing and read-back verification are real.
Tests that need a board are marked `hardware` and skip with the reason when no probe is attached.
"""

from __future__ import annotations

import os

import pytest
from serial.tools.list_ports_common import ListPortInfo

from tinyrig.boards import load_board
from tinyrig.hil.targets.flash import (FlashError, Segment, check_segments_fit, choose_probe, connected_probes,
                               flash_elf, load_segments, target_available, verify_segments)
from tinyrig.hil.targets.hardware import HardwareError, HardwareTarget
from tinyrig.hil.targets.ports import PortError, find_console_port, matching_ports, parse_usb_id, same_serial

from tinyrig_testing import require_tools


class FakeProbe:
    """Stands in for a pyOCD DebugProbe in enumeration: the two attributes tinyrig reads."""

    def __init__(self, unique_id: str, description: str = "STM32 STLink"):
        self.unique_id = unique_id
        self.description = description


@pytest.fixture
def probes(monkeypatch):
    """Replaces pyOCD's probe enumeration (and only that) with a list the test controls."""
    pytest.importorskip("pyocd")
    from pyocd.probe.aggregator import DebugProbeAggregator

    attached: list[FakeProbe] = []
    monkeypatch.setattr(DebugProbeAggregator, "get_all_connected_probes",
                        staticmethod(lambda unique_id=None: list(attached)))
    return attached


# -- probe choice -------------------------------------------------------------------------------

def test_only_probe_is_chosen(probes):
    probes.append(FakeProbe("066DFF555051897267233656"))
    assert choose_probe(connected_probes()).unique_id == "066DFF555051897267233656"


def test_no_probe_is_a_clear_error(probes):
    with pytest.raises(FlashError, match="no debug probe attached"):
        choose_probe(connected_probes())


def test_several_probes_need_an_id(probes):
    probes += [FakeProbe("0670FF3632", "STM32 STLink"), FakeProbe("000683012345", "Segger J-Link OB")]
    with pytest.raises(FlashError) as err:
        choose_probe(connected_probes())
    assert "2 debug probes attached" in str(err.value)
    assert "0670FF3632 (STM32 STLink)" in str(err.value) and "000683012345 (Segger J-Link OB)" in str(err.value)


def test_probe_by_exact_or_unique_partial_id(probes):
    probes += [FakeProbe("0670FF3632"), FakeProbe("0670FF3632AB"), FakeProbe("000683012345", "J-Link")]
    assert choose_probe(connected_probes(), "0670ff3632").unique_id == "0670FF3632"  # exact beats partial
    assert choose_probe(connected_probes(), "683012").unique_id == "000683012345"
    with pytest.raises(FlashError, match="2 debug probes match unique ID '0670'"):
        choose_probe(connected_probes(), "0670")
    with pytest.raises(FlashError, match="no debug probe with unique ID 'ffff'; attached:"):
        choose_probe(connected_probes(), "ffff")


def test_flash_without_probe_fails_before_touching_anything(probes, built_elf):
    board, elf = built_elf
    if not target_available(board.pyocd_target):
        pytest.skip(f"pyOCD target {board.pyocd_target} not installed")
    with pytest.raises(FlashError, match="no debug probe attached"):
        flash_elf(board, elf)


def test_missing_pack_names_the_install_command(probes, tmp_path):
    board = load_board("nucleo-l4r5zi")
    if target_available(board.pyocd_target):
        pytest.skip("the STM32L4 pack is installed on this machine")
    elf = _tiny_elf(tmp_path, board.flash.base)
    with pytest.raises(FlashError, match=r"pyocd pack install stm32l4r5zitx"):
        flash_elf(board, elf)


def test_nrf52840_target_is_built_into_pyocd(probes):
    assert target_available(load_board("nrf52840-dk").pyocd_target)
    assert not target_available("no-such-mcu")


# -- ELF segments and verification --------------------------------------------------------------

def _tiny_elf(tmp_path, base: int):
    """A real ELF linked at `base` with the system toolchain: enough to exercise the segment code."""
    require_tools("arm-none-eabi-gcc")
    import subprocess

    src = tmp_path / "t.c"
    src.write_text("const unsigned char table[8] = {1,2,3,4,5,6,7,8};\nvoid _start(void) { for (;;) {} }\n")
    elf = tmp_path / "t.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-O1",
                    f"-Wl,-Ttext=0x{base:08X}", "-o", str(elf), str(src)], check=True, capture_output=True)
    return elf


@pytest.fixture(scope="module")
def built_elf(models_dir):
    require_tools("arm-none-eabi-gcc", "arm-none-eabi-size")
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.build.firmware_cache import prepare_firmware

    board = load_board("nrf52840-dk")
    firmware = prepare_firmware(board, get_benchmark("kws01"), models_dir / "kws01.tflite", "perf")
    return board, firmware.build.elf


def test_segments_of_a_built_image_fit_its_board_only(built_elf):
    pytest.importorskip("elftools")
    board, elf = built_elf
    segments = load_segments(elf)
    assert segments[0].address == board.flash.base  # the vector table comes first
    assert sum(len(s.data) for s in segments) > 40_000
    check_segments_fit(board, segments)
    with pytest.raises(FlashError, match="outside nucleo-l4r5zi's flash 0x08000000"):
        check_segments_fit(load_board("nucleo-l4r5zi"), segments)


def test_verify_passes_on_identical_memory_and_names_the_first_difference():
    segments = [Segment(0x08000000, bytes(range(256)) * 40), Segment(0x08010000, b"\xAA" * 10)]
    memory = {s.address + i: b for s in segments for i, b in enumerate(s.data)}
    reads = []

    def read(address, length):
        reads.append((address, length))
        return [memory[address + i] for i in range(length)]

    verify_segments(read, segments, chunk=4096)
    assert reads[0] == (0x08000000, 4096) and reads[-1] == (0x08010000, 10)
    memory[0x08000000 + 5000] ^= 0xFF
    with pytest.raises(FlashError, match=r"verify failed at 0x08001388: wrote 0x88, read back 0x77"):
        verify_segments(read, segments)
    with pytest.raises(FlashError, match="read back nothing"):
        verify_segments(lambda a, n: [memory[a + i] for i in range(n - 1)], segments[1:])


# -- serial port discovery ----------------------------------------------------------------------

def _port(device: str, vid: int | None, pid: int | None, serial: str | None = None, desc: str = "") -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number, info.description = vid, pid, serial, desc or device
    return info


PORTS = [
    _port("/dev/ttyS0", None, None, desc="ttyS0"),
    _port("/dev/ttyACM0", 0x0483, 0x374B, "066DFF555051897267233656", "STM32 STLink"),
    _port("/dev/ttyACM1", 0x1366, 0x1015, "000683012345", "J-Link - CDC"),
    _port("/dev/ttyUSB0", 0x0403, 0x6001, "FT123", "FT232R"),
]


def test_usb_ids_and_serials():
    assert parse_usb_id("0483:374B").pid == 0x374B
    with pytest.raises(PortError, match="expected VID:PID"):
        parse_usb_id("0483-374b")
    assert same_serial("000683012345", "683012345") and not same_serial("683012345", "683012346")
    assert not same_serial(None, "1")


def test_console_port_by_usb_id():
    assert find_console_port(load_board("nucleo-l4r5zi"), ports=PORTS) == "/dev/ttyACM0"
    assert find_console_port(load_board("nrf52840-dk"), ports=PORTS) == "/dev/ttyACM1"


def test_console_port_by_probe_serial_among_several_boards():
    ports = PORTS + [_port("/dev/ttyACM2", 0x0483, 0x374B, "0670FF3632", "STM32 STLink")]
    board = load_board("nucleo-l4r5zi")
    with pytest.raises(PortError) as err:
        find_console_port(board, ports=ports)
    assert "2 serial ports with USB id 0483:374b" in str(err.value) and "/dev/ttyACM2" in str(err.value)
    assert find_console_port(board, "0670FF3632", ports=ports) == "/dev/ttyACM2"
    # J-Link pads its USB serial with zeros; pyOCD's unique ID does not.
    assert find_console_port(load_board("nrf52840-dk"), "683012345", ports=ports) == "/dev/ttyACM1"


def test_no_console_port_lists_what_is_there():
    with pytest.raises(PortError) as err:
        find_console_port(load_board("nucleo-h7a3zi-q"), ports=PORTS)
    message = str(err.value)
    assert "no serial port with USB id 0483:374e" in message
    assert "/dev/ttyUSB0 (0403:6001 serial FT123; FT232R)" in message and "/dev/ttyS0 (no USB id" in message
    assert matching_ports(["1366:1015"], "999", PORTS) == []


# -- the hardware target ------------------------------------------------------------------------

def test_hardware_target_flashes_then_finds_the_probes_port(tmp_path):
    from tinyrig.hil.targets.flash import FlashResult, ProbeInfo

    board = load_board("nucleo-l4r5zi")
    calls = []

    def fake_flash(b, elf, probe_id):
        calls.append((b.name, elf.name, probe_id))
        return FlashResult(probe=ProbeInfo("0670FF3632", "STM32 STLink"), target=b.pyocd_target, elf=elf)

    ports = PORTS + [_port("/dev/ttyACM2", 0x0483, 0x374B, "0670FF3632", "STM32 STLink")]
    target = HardwareTarget(board, flasher=fake_flash,
                            port_finder=lambda b, probe: find_console_port(b, probe, ports=ports))
    with target:
        run = target.start(tmp_path / "program.elf")
        assert calls == [("nucleo-l4r5zi", "program.elf", None)]
        assert run.url == "/dev/ttyACM2"  # the flashed probe's own VCP, not the other ST-LINK's
        assert run.exit_code() is None and run.new_window_marks() == [] and not run.markers
        assert "0670FF3632" in run.describe_exit() and "pyocd gdbserver -t stm32l4r5zitx" in run.describe_exit()


def test_hardware_target_with_explicit_port_and_no_flash(tmp_path):
    target = HardwareTarget(load_board("nrf52840-dk"), port="/dev/ttyACM7", flash=False,
                            flasher=lambda *a: pytest.fail("must not flash"),
                            port_finder=lambda *a: pytest.fail("must not search"))
    assert target.start(tmp_path / "x.elf").url == "/dev/ttyACM7"


def test_hardware_target_refuses_emulated_boards():
    with pytest.raises(HardwareError, match="emulated board"):
        HardwareTarget(load_board("qemu-mps2-an386"))


# -- on a real board ----------------------------------------------------------------------------

def _attached_board():
    """The board whose probe is attached, named by TINYRIG_HW_BOARD, or a skip saying why not."""
    pytest.importorskip("pyocd", reason="pyOCD not installed (pip install 'tinyrig[hardware]')")
    probes = connected_probes()
    if not probes:
        pytest.skip("no debug probe attached (pyOCD sees none)")
    name = os.environ.get("TINYRIG_HW_BOARD")
    if not name:
        pytest.skip(f"{len(probes)} probe(s) attached; set TINYRIG_HW_BOARD to the board's name to run on it")
    return load_board(name)


@pytest.mark.hardware
def test_flash_and_talk_to_a_real_board(models_dir):
    board = _attached_board()
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.build.firmware_cache import prepare_firmware
    from tinyrig.hil.dut.client import Dut

    firmware = prepare_firmware(board, get_benchmark("kws01"), models_dir / "kws01.tflite", "perf")
    with HardwareTarget(board, probe_id=os.environ.get("TINYRIG_HW_PROBE")) as target:
        run = target.start(firmware.build.elf)
        # What pyOCD wrote is the image the size report measured (up to section alignment).
        assert run.flash is not None and abs(run.flash.bytes_written - firmware.build.size.flash_bytes) <= 64
        with Dut(run.url, baudrate=board.console.baud) as dut:
            profile = dut.open()
            assert profile.model
