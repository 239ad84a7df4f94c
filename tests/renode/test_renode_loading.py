"""The Renode fast input path, fast tier: the input buffer found in an ELF's symbols, the loader
chosen for Renode, and the monitor commands it sends (answered by the recorded Renode). The
slow tier (test_renode_real.py) runs it end to end against the firmware, bit-exact."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tinyrig_testing.fake_renode import FakeMonitor

from tinyrig.hil.dut.client import DutError
from tinyrig.hil.dut.loading import (
    DbLoader,
    InputBufferError,
    RenodeMonitorLoader,
    choose_loader,
    find_input_buffer,
)
from tinyrig.hil.targets.renode import MonitorClient
from tinyrig.renode.scripts import path_token

# The layout of the firmware's protocol layer (internally_implemented.cpp), in miniature.
PROTOCOL_CPP = """
#include <stddef.h>
#include <stdint.h>
namespace {
uint8_t g_buffer[490];
size_t g_buffer_expected = 0;
size_t g_buffer_count = 0;
}
extern "C" uint8_t *ee_get_buffer_pointer(void) { return g_buffer; }
extern "C" void Reset_Handler(void) { g_buffer[g_buffer_count++] = 1; g_buffer_expected = 2; for (;;) {} }
"""


def _compile(tmp_path: Path, source: str, name: str) -> Path:
    if shutil.which("arm-none-eabi-g++") is None:
        pytest.skip("needs arm-none-eabi-g++ (scripts/setup.sh installs it)")
    src = tmp_path / f"{name}.cpp"
    src.write_text(source)
    elf = tmp_path / f"{name}.elf"
    subprocess.run(["arm-none-eabi-g++", "-mcpu=cortex-m4", "-mthumb", "-O0", "-nostdlib", "-Wl,-e,Reset_Handler",
                    "-Wl,-Ttext=0x08000000", "-Wl,-Tbss=0x20000000", str(src), "-o", str(elf)],
                   check=True, capture_output=True)
    return elf


@pytest.fixture
def protocol_elf(tmp_path) -> Path:
    return _compile(tmp_path, PROTOCOL_CPP, "protocol")


def test_the_input_buffer_is_found_by_its_symbols(protocol_elf):
    buffer = find_input_buffer(protocol_elf)
    assert buffer.capacity == 490
    assert 0x20000000 <= buffer.address and 0x20000000 <= buffer.count_address
    assert buffer.count_address not in range(buffer.address, buffer.address + buffer.capacity)


def test_an_elf_without_the_buffer_is_named(tmp_path):
    elf = _compile(tmp_path, 'extern "C" void Reset_Handler(void) { for (;;) {} }', "bare")
    with pytest.raises(InputBufferError, match=r"no data symbol \(anonymous namespace\)::g_buffer"):
        find_input_buffer(elf)


@dataclass
class _Run:
    """What choose_loader needs from a RenodeRun: the monitor (not connected: nothing is sent
    while choosing) and the ELF."""

    elf: Path
    monitor: MonitorClient = field(default_factory=lambda: MonitorClient("127.0.0.1", 1))


@dataclass
class _Dut:
    """A firmware's answers to `db load N`, as the protocol defines them (m-[Expecting N bytes])."""

    sent: list[str] = field(default_factory=list)
    refuse: bool = False
    recent: list[str] = field(default_factory=list)

    def command(self, command: str) -> list[str]:
        self.sent.append(command)
        return ["e-[db load: nope]"] if self.refuse else [f"m-[Expecting {command.split()[-1]} bytes]"]

    def capabilities(self) -> set[str]:
        return {"raw", "ticks", "load"}


def test_renode_gets_the_monitor_loader_and_falls_back_to_db(protocol_elf, tmp_path):
    loader = choose_loader(_Dut(), "renode", True, run=_Run(protocol_elf))
    assert isinstance(loader, RenodeMonitorLoader) and loader.name == "renode-monitor"
    loader.close()
    assert not loader.directory.exists()
    bare = _compile(tmp_path, 'extern "C" void Reset_Handler(void) { for (;;) {} }', "bare")
    assert isinstance(choose_loader(_Dut(), "renode", True, run=_Run(bare)), DbLoader)  # no buffer symbols
    assert isinstance(choose_loader(_Dut(), "renode", False, run=_Run(protocol_elf)), DbLoader)  # --no-fast-load
    assert isinstance(choose_loader(_Dut(), "renode", True), DbLoader)  # no run to reach the monitor
    assert isinstance(choose_loader(_Dut(), "hardware", True, run=_Run(protocol_elf)), DbLoader)


def test_the_loader_writes_the_input_and_its_length_through_the_monitor(protocol_elf):
    server = FakeMonitor().start()
    try:
        monitor = MonitorClient("127.0.0.1", server.port, timeout_s=5)
        monitor.connect(5)
        monitor.execute('mach create "tinyrig"')
        loader = RenodeMonitorLoader(monitor, protocol_elf)
        dut, data = _Dut(), bytes(range(256)) + bytes(234)
        loader.load(dut, data)
        buffer = find_input_buffer(protocol_elf)
        assert dut.sent == ["db load 490"]  # the firmware is told the size the standard way
        assert server.commands[1:] == [f"sysbus LoadBinary {path_token(loader.path)} {buffer.address:#x}",
                                       f"sysbus WriteDoubleWord {buffer.count_address:#x} 490"]
        assert loader.path.read_bytes() == data
        with pytest.raises(ValueError, match="does not fit the firmware's 490-byte input buffer"):
            loader.load(dut, bytes(491))
        with pytest.raises(DutError, match="expected a line starting 'm-\\[Expecting'"):
            loader.load(_Dut(refuse=True), data)
        loader.close()
    finally:
        server.close()


def test_a_refused_monitor_write_is_a_dut_error(protocol_elf):
    server = FakeMonitor(script={"errors": {"sysbus LoadBinary": "Could not find file '/gone/input.bin'."}}).start()
    try:
        monitor = MonitorClient("127.0.0.1", server.port, timeout_s=5)
        monitor.connect(5)
        loader = RenodeMonitorLoader(monitor, protocol_elf)
        with pytest.raises(DutError, match="writing the input through Renode's monitor failed: Renode refused"):
            loader.load(_Dut(), bytes(490))
        loader.close()
    finally:
        server.close()
