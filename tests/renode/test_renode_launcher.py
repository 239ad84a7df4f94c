"""RenodeTarget against a fake `renode` (tests/tinyrig_testing/fake_renode.py): the exact monitor command
sequence, errors, time-outs, a dying process, and that every way out leaves no process behind."""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

import pytest
from conftest import HERE, recorded

from tinyrig.boards import load_board
from tinyrig.hil.targets.pinwatch import symbol_range
from tinyrig.hil.targets.renode import INSTALL_HINT, MonitorError, MonitorTimeout, RenodeError, RenodeTarget, renode_binary

BOARD = "renode-stm32f4-discovery"


def _gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _target(exe: Path, tmp_path: Path, **kwargs) -> RenodeTarget:
    options = {"pin_log": tmp_path / "pins.log", "start_timeout_s": 15, "command_timeout_s": 5, "quit_timeout_s": 3}
    options.update(kwargs)
    return RenodeTarget(load_board(BOARD), binary=str(exe), workdir=tmp_path / "renode", **options)


def _transcript(**values) -> list[str]:
    lines = (HERE / "transcripts" / f"{BOARD}.start.txt").read_text().splitlines()
    return [line.format(**values) for line in lines if line and not line.startswith("#")]


def test_start_and_stop_send_the_recorded_command_sequence(fake_renode, tmp_path, marker_elf):
    exe = fake_renode({"uart_greeting": "m-ready\r\n"})
    target = _target(exe, tmp_path)
    run = target.start(marker_elf)
    uart_port = int(run.url.rsplit(":", 1)[1])
    # The console URL is the fake's socket terminal: the firmware's first line arrives on it.
    with socket.create_connection(("127.0.0.1", uart_port), timeout=5) as uart:
        assert uart.recv(64).startswith(b"m-ready")
    assert run.exit_code() is None
    code = target.stop()
    assert code == 0, run.describe_exit()  # it left through `quit`, not by being killed
    assert recorded(tmp_path) == _transcript(elf=marker_elf.resolve(), uart_port=uart_port,
                                             pin_log=(tmp_path / "pins.log").resolve())
    assert [c for d, c in run.monitor.transcript if d == "sent"] == recorded(tmp_path)
    assert _gone(run.process.pid)
    assert run.command[1:5] == ["--disable-xwt", "--plain", "--port", run.command[4]]
    assert "Monitor available in telnet mode" in (tmp_path / "renode" / "renode.log").read_text()


def test_pin_events_and_window_marks_come_from_the_hook_log(fake_renode, tmp_path, marker_elf):
    lo, hi = symbol_range(marker_elf, "board_pin_mark")
    pulse_lo, _ = symbol_range(marker_elf, "board_pin_pulse")
    lines = [f"100 1 {lo + 2:x} 0.000000600",        # a mark (idle level written again)
             f"5000 0 {pulse_lo + 2:x} 0.000029762",  # a pulse: low ...
             f"5010 1 {pulse_lo + 6:x} 0.000029821",  # ... and back high
             f"90100 1 {lo + 2:x} 0.000536310"]        # the second mark
    exe = fake_renode({"pin_lines": lines})
    target = _target(exe, tmp_path)
    try:
        run = target.start(marker_elf)
        assert run.instructions_per_second == 168e6
        marks = run.new_window_marks()
        assert [(m.instructions, m.pc, m.address) for m in marks] == [(100, lo + 2, 0x40020C00),
                                                                       (90100, lo + 2, 0x40020C00)]
        assert run.new_window_marks() == []  # each event is returned once
        assert [e.level for e in run.events] == [1, 0, 1, 1]  # the pulse is kept among the events
        assert run.events[1].virtual_s == pytest.approx(29.762e-6)
    finally:
        target.stop()


def test_a_refused_command_names_it_and_renode_is_stopped(fake_renode, tmp_path, marker_elf):
    exe = fake_renode({"errors": {"sysbus LoadELF": "Error while loading ELF: Could not load ELF from path"}})
    target = _target(exe, tmp_path)
    with pytest.raises(MonitorError) as caught:
        target.start(marker_elf)
    message = str(caught.value)
    assert "Renode refused 'sysbus LoadELF @" in message and "Could not load ELF from path" in message
    assert caught.value.command.startswith("sysbus LoadELF")
    assert recorded(tmp_path)[-1] == "quit"  # nothing after the failing command but the way out
    assert recorded(tmp_path)[-2].startswith("sysbus LoadELF")
    assert _gone(target.run.process.pid)


def test_a_monitor_that_never_answers_times_out(fake_renode, tmp_path, marker_elf):
    exe = fake_renode({"hang": ["cpu PerformanceInMips"]})
    target = _target(exe, tmp_path, command_timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(MonitorTimeout, match=r"no prompt within 1 s after 'cpu PerformanceInMips 168'"):
        target.start(marker_elf)
    assert time.monotonic() - started < 10
    assert _gone(target.run.process.pid)


def test_renode_that_exits_at_start_up_is_reported_with_its_log(fake_renode, tmp_path, marker_elf):
    exe = fake_renode({"exit_at_start": 3})
    target = _target(exe, tmp_path)
    with pytest.raises(RenodeError, match="stopped before its monitor came up: Renode exited with code 3") as caught:
        target.start(marker_elf)
    assert "configured to fail at start-up" in str(caught.value)  # the end of Renode's own log


def test_renode_that_dies_during_set_up_is_reported(fake_renode, tmp_path, marker_elf):
    exe = fake_renode({"exit_on": {"nvic Frequency": 7}})
    target = _target(exe, tmp_path)
    with pytest.raises(RenodeError, match=r"stopped during 'nvic Frequency 168000000': Renode exited with code 7"):
        target.start(marker_elf)
    assert _gone(target.run.process.pid)


def test_a_renode_that_ignores_quit_is_killed_within_the_timeout(fake_renode, tmp_path, marker_elf):
    exe = fake_renode({"hang": ["quit"]})
    target = _target(exe, tmp_path, quit_timeout_s=1.0)
    run = target.start(marker_elf)
    started = time.monotonic()
    code = target.stop()
    assert time.monotonic() - started < 8
    assert code is not None and code < 0  # killed by a signal, not a clean exit
    assert _gone(run.process.pid)
    assert target.stop() == code  # stopping again is harmless


def test_missing_renode_says_how_to_install_it(tmp_path, marker_elf, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("TINYRIG_RENODE", raising=False)
    with pytest.raises(RenodeError) as caught:
        renode_binary()
    assert "'renode' not found on PATH" in str(caught.value) and INSTALL_HINT in str(caught.value)
    target = RenodeTarget(load_board(BOARD))
    with pytest.raises(RenodeError, match="docs/renode.md"):
        target.start(marker_elf)
    assert target.run is None  # nothing was started


def test_boards_without_a_renode_platform_are_refused_before_starting(tmp_path, marker_elf):
    with pytest.raises(RenodeError, match="has no Renode platform"):
        RenodeTarget(load_board("qemu-mps2-an386"), binary="true")
    assert RenodeTarget.supports(load_board("qemu-mps2-an386")).startswith("board qemu-mps2-an386 has no Renode")


def test_missing_firmware_is_reported(tmp_path):
    with pytest.raises(RenodeError, match=re.escape(f"firmware not found: {tmp_path / 'none.elf'}")):
        RenodeTarget(load_board(BOARD)).start(tmp_path / "none.elf")
