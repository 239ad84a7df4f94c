"""The generated firmware, under real QEMU, answers exactly as the MLPerf Tiny protocol says.

These drive the firmware through raw bytes as well as through the Dut client, because an
independent runner will not share our client's habits.
"""

from __future__ import annotations

import re
import socket
import time

import numpy as np
import pytest

from tinyrig_testing import require_tools
from tinyrig.hil.dut.client import Dut, DutError
from tinyrig.hil.targets.qemu import QemuTarget
from tinyrig.hil.dut.reference import ReferenceModel

pytestmark = pytest.mark.qemu


@pytest.fixture(autouse=True)
def _tools():
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")


class RawConsole:
    """A bare TCP connection to the firmware's UART: what any runner would see."""

    def __init__(self, url: str):
        host, port = url.removeprefix("socket://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buffer = b""

    def until_ready(self, timeout_s: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while b"m-ready\r\n" not in self.buffer:
            assert time.monotonic() < deadline, f"no m-ready; got {self.buffer!r}"
            chunk = self.sock.recv(65536)
            assert chunk, f"connection closed; got {self.buffer!r}"
            self.buffer += chunk
        answer, self.buffer = self.buffer.split(b"m-ready\r\n", 1)
        assert answer == b"" or answer.endswith(b"\r\n"), answer
        return answer.decode().split("\r\n")[:-1]

    def ask(self, command: bytes) -> list[str]:
        self.sock.sendall(command)
        return self.until_ready()


@pytest.fixture
def console(board, firmware):
    target = QemuTarget(board)
    run = target.start(firmware.build.elf)
    raw = RawConsole(run.url)
    try:
        yield raw
    finally:
        raw.sock.close()
        target.stop()


def test_boot_banner_and_identity(console):
    assert console.until_ready() == ["m-timestamp-mode-performance", "m-init-done"]
    assert re.fullmatch(r"m-name-dut-\[[^\]]+\]", console.ask(b"name%")[0])
    profile = console.ask(b"profile%")
    assert re.fullmatch(r"m-profile-\[tinyrig .+\]", profile[0])
    assert profile[1] == "m-model-[kws01]"
    assert any("infer" in line for line in console.ask(b"help%"))


def test_errors_and_robustness(console):
    console.until_ready()
    assert console.ask(b"bogus 1 2%") == ["e-[Unknown command: bogus]"]
    # Over 80 characters: rejected whole, and the device keeps working.
    answer = console.ask(b"db " + b"41" * 200 + b"%")
    assert len(answer) == 1 and answer[0].startswith("e-[")
    assert console.ask(b"infer 1 0%")[0].startswith("e-[")  # before any db load
    assert console.ask(b"results%")[0].startswith("e-[")
    assert console.ask(b"db load 0%")[0].startswith("e-[")
    assert console.ask(b"db load 999999999999999999999999%")[0].startswith("e-[")
    assert console.ask(b"db load 491%")[0].startswith("e-[")  # above the input buffer
    assert console.ask(b"db load 4%") == ["m-[Expecting 4 bytes]"]
    assert console.ask(b"db 0g%")[0].startswith("e-[")
    assert console.ask(b"db 123%")[0].startswith("e-[")  # odd digit count
    assert console.ask(b"db 0102%") == []
    assert console.ask(b"db 030405%")[0].startswith("e-[")  # more than announced: nothing written
    assert console.ask(b"db 0304%") == ["m-load-done"]
    assert console.ask(b"db print%") == ["m-buffer-01-02-03-04"]
    assert console.ask(b"infer 1 0%")[0].startswith("e-[")  # 4 bytes is not a kws01 input
    assert console.ask(b"infer 0%")[0].startswith("e-[")
    assert console.ask(b"infer x%")[0].startswith("e-[")
    assert console.ask(b"\r\n%") == []  # line endings are ignored; an empty command just answers
    # Garbage bytes, then a normal command: still answers correctly.
    assert console.ask(bytes(range(1, 32)) + b"\xff\xfe%") == []
    assert console.ask(b"x\xffy\x00z%") == ["e-[Unknown command: xyz]"]
    assert console.ask(b"name%")[0].startswith("m-name-dut-[")


def test_db_print_layout_and_infer_sequence(console):
    console.until_ready()
    data = bytes(range(256)) + bytes(range(234))
    assert console.ask(b"db load 490%") == ["m-[Expecting 490 bytes]"]
    for offset in range(0, 490, 31):
        answer = console.ask(b"db " + data[offset : offset + 31].hex().encode() + b"%")
    assert answer == ["m-load-done"]
    printed = console.ask(b"db print%")
    assert len(printed) == (490 + 7) // 8
    assert printed[0] == "m-buffer-00-01-02-03-04-05-06-07"
    assert printed[-1] == "m-buffer-" + "-".join(f"{b:02x}" for b in data[488:])
    lines = console.ask(b"infer 2 1%")
    assert lines[:3] == ["m-warmup-start-1", "m-warmup-done", "m-infer-start-2"]
    assert re.fullmatch(r"m-lap-us-\d+", lines[3]) and re.fullmatch(r"m-lap-us-\d+", lines[4])
    assert int(lines[4][9:]) > int(lines[3][9:])
    assert lines[5] == "m-infer-done"
    assert re.fullmatch(r"m-results-\[(\d\.\d{3},){11}\d\.\d{3}\]", lines[6])
    assert len(lines) == 7
    assert console.ask(b"results%") == [lines[6]]
    # Default warm-up is 10.
    assert console.ask(b"infer 1%")[0] == "m-warmup-start-10"
    assert re.fullmatch(r"m-lap-us-\d+", console.ask(b"timestamp%")[0])


def test_scores_equal_the_interpreter(dut, firmware, models_dir):
    """kws01 on the real sample and random inputs: printed scores and raw bytes match tflite-micro."""
    from tinyrig.benchmarks import get_benchmark

    reference = ReferenceModel(models_dir / "kws01.tflite", get_benchmark("kws01"))
    rng = np.random.default_rng(7)
    inputs = [rng.integers(0, 256, 490, dtype=np.uint8).tobytes() for _ in range(3)]
    sample = models_dir.parent / "samples" / "kws01" / "ref_sample_kws.bin"
    if sample.is_file():
        inputs.append(sample.read_bytes())
    for data in inputs:
        dut.load(data)
        result = dut.infer(1, 0)
        expected = reference.run(data)
        line = next(l for l in result.lines if l.startswith("m-results-"))
        assert line == "m-results-[" + ",".join(expected.scores) + "]"
        assert dut.raw_output() == expected.raw


def test_dut_client_reports_device_errors(dut):
    with pytest.raises(DutError) as info:
        dut.command("infer 0")
    assert "infer 0" in str(info.value) and "e-[" in str(info.value)
    dut.resync()
    assert dut.profile().model == "kws01"


def test_dead_emulator_is_named(board, firmware):
    target = QemuTarget(board)
    run = target.start(firmware.build.elf)
    with Dut(run.url) as client:
        client.open()
        target.stop()
        with pytest.raises(DutError) as info:
            client.command("name", timeout_s=5)
        assert "name" in str(info.value)
    assert run.exit_code() is not None
    assert "QEMU exited" in run.describe_exit()


def _random_command(rng) -> bytes:
    kind = rng.integers(0, 9)
    if kind == 0:  # printable junk, sometimes far over 80 characters
        return bytes(rng.integers(0x20, 0x7F, rng.integers(0, 300), dtype=np.uint8))
    if kind == 1:  # raw bytes, line noise included
        return bytes(b for b in rng.integers(0, 256, rng.integers(1, 64), dtype=np.uint8) if b != ord("%"))
    if kind == 2:
        return b"db load " + str(int(rng.integers(-5, 600))).encode()
    if kind == 3:  # hex of any length, sometimes odd, sometimes with a bad digit
        digits = bytes(rng.choice(list(b"0123456789abcdefABCDEFxg "), rng.integers(0, 120)))
        return b"db " + digits
    if kind == 4:
        return b"infer " + str(int(rng.integers(-2, 3))).encode() + b" " + str(int(rng.integers(-1, 2))).encode()
    if kind == 5:
        return bytes(rng.choice([b"results", b"db print", b"timestamp", b"name", b"profile", b"help", b""]))
    if kind == 6:
        return b"tinyrig " + bytes(rng.choice([b"raw", b"ticks", b"caps", b"load", b"load /nonexistent/x.bin", b"?"]))
    if kind == 7:  # a full valid input now and then, so infer and results really run
        return b"db load 490%" + b"%".join(b"db " + bytes(62 * [ord("1")]) for _ in range(15)) + b"%db 3132333435"
    return b"   " + bytes(rng.integers(0x20, 0x7F, 10, dtype=np.uint8)) + b"   "


def test_parser_survives_random_input(board, firmware):
    """Seeded random command streams: every '%' gets exactly one m-ready, the device never dies."""
    rng = np.random.default_rng(2024)
    target = QemuTarget(board)
    run = target.start(firmware.build.elf)
    console = RawConsole(run.url)
    try:
        console.until_ready()
        for _ in range(300):
            command = _random_command(rng)
            console.sock.sendall(command + b"%")
            for _ in range(command.count(b"%") + 1):
                answer = console.until_ready()
                assert all(line.startswith(("m-", "e-")) or "infer" in line or ":" in line or line.startswith("tinyrig")
                           for line in answer), answer
        assert console.ask(b"name%")[0].startswith("m-name-dut-[")
        assert run.exit_code() is None
    finally:
        console.sock.close()
        target.stop()
