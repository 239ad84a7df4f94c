"""RenodeTarget against a fake `renode` (tests/tinyrig_testing/fake_renode.py): the exact monitor command
sequence, errors, time-outs, a dying process, and that every way out leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
from pathlib import Path

import pytest
from conftest import recorded
from tinyrig_testing.fake_renode import PLACEHOLDER, load_transcript

from tinyrig.boards import load_board
from tinyrig.hil.targets.pinwatch import symbol_range
from tinyrig.hil.targets.renode import INSTALL_HINT, MonitorError, MonitorTimeout, RenodeError, RenodeTarget, renode_binary
from tinyrig.renode.scripts import shipped_platform
from tinyrig.renode.version import parse_version

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


def _recorded_start(session: str, **values) -> list[str]:
    """The lines tinyrig sent when a real Renode recorded `session`, up to `start`, then `quit`."""
    lines = [e["line"] for e in load_transcript()["sessions"][session]["exchanges"]][1:]  # [0] is the sync
    lines = lines[: lines.index("start") + 1] + ["quit"]
    return [PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), line) for line in lines]


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
    assert recorded(tmp_path) == _recorded_start("f4", elf=marker_elf.resolve(), uart_port=uart_port,
                                                 pin_log=(tmp_path / "pins.log").resolve())
    assert [c for d, c in run.monitor.transcript if d == "sent"] == recorded(tmp_path)
    assert _gone(run.process.pid)
    assert run.command[1:5] == ["--disable-xwt", "--plain", "--port", run.command[4]]
    assert run.command[5] == "--config" and run.version is not None and str(run.version) == "1.16.0"
    assert run.platform_file == "@platforms/boards/stm32f4_discovery-kit.repl" and run.notes == []
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


def test_each_renode_gets_a_private_empty_tmpdir_that_is_removed_after(fake_renode, tmp_path, marker_elf):
    env_log = tmp_path / "env.jsonl"
    exe = fake_renode({"env_record": str(env_log)})
    target = _target(exe, tmp_path)
    run = target.start(marker_elf)
    target.stop()
    version_call, monitor_call = [json.loads(line) for line in env_log.read_text().splitlines()]
    assert version_call["argv"] == ["--version"]
    for call in (version_call, monitor_call):
        tmpdir = Path(call["TMPDIR"])
        assert call["tmp_entries"] == []  # empty when Renode starts
        assert not tmpdir.name.startswith("renode-") and tmpdir.parent.name.startswith("tinyrig-rn-")
        assert tmpdir.parent.parent == Path(tempfile.gettempdir())
        assert not tmpdir.exists()  # removed once Renode is done
    assert version_call["TMPDIR"] != monitor_call["TMPDIR"]
    config = Path(run.command[run.command.index("--config") + 1])
    assert config.parent == Path(monitor_call["TMPDIR"]).parent  # Renode's config is private too


def test_a_board_file_the_installed_renode_lacks_is_replaced_by_tinyrigs(fake_renode, tmp_path, marker_elf):
    exe = fake_renode()  # the recording: Renode 1.16.0 has no nucleo_f767zi.repl
    target = RenodeTarget(load_board("renode-nucleo-f767zi"), binary=str(exe), pin_log=tmp_path / "pins.log",
                          workdir=tmp_path / "renode", start_timeout_s=15, command_timeout_s=5, quit_timeout_s=3)
    run = target.start(marker_elf)
    uart_port = int(run.url.rsplit(":", 1)[1])
    target.stop()
    shipped = shipped_platform("nucleo_f767zi.repl")
    assert recorded(tmp_path) == _recorded_start("f767", elf=marker_elf.resolve(), uart_port=uart_port,
                                                   pin_log=(tmp_path / "pins.log").resolve(), shipped=shipped.parent)
    assert run.platform_file == f"@{shipped}"
    assert run.notes == ["Renode 1.16.0 has no platforms/boards/nucleo_f767zi.repl (it is in Renode built from its "
                         "master branch after 1.16.1 (April 2026); releases up to 1.16.1 lack it); using tinyrig's "
                         "renode/platforms/nucleo_f767zi.repl, built on platforms/cpus/stm32f746.repl"]
    assert run.emulator_info["platform"] == str(shipped) and run.emulator_info["version"] == "1.16.0"


def test_a_renode_with_its_own_board_file_uses_it(fake_renode, tmp_path, marker_elf):
    own = "machine LoadPlatformDescription @platforms/boards/nucleo_f767zi.repl"
    exe = fake_renode({"succeed": [own], "version": "Renode v1.16.1.7777\n"})
    target = RenodeTarget(load_board("renode-nucleo-f767zi"), binary=str(exe), workdir=tmp_path / "renode",
                          start_timeout_s=15, command_timeout_s=5, quit_timeout_s=3)
    run = target.start(marker_elf)
    target.stop()
    assert [c for c in recorded(tmp_path) if c.startswith("machine LoadPlatformDescription")] == [own]
    assert run.platform_file == "@platforms/boards/nucleo_f767zi.repl" and run.notes == []
    assert str(run.version) == "1.16.1"


def test_a_missing_board_file_without_replacement_says_what_is_needed(fake_renode, tmp_path, marker_elf):
    repl = "platforms/boards/stm32f4_discovery-kit.repl"
    exe = fake_renode({"errors": {f"machine LoadPlatformDescription @{repl}": f"Could not find file '{repl}'."}})
    target = _target(exe, tmp_path)
    with pytest.raises(RenodeError) as caught:
        target.start(marker_elf)
    message = str(caught.value)
    assert message.startswith(f"board {BOARD} needs {repl}, which Renode 1.16.0 ({exe}) does not have: it is in "
                              "every Renode tinyrig supports. Renode said: Could not find file")
    assert _gone(target.run.process.pid)


@pytest.mark.parametrize("version_output, expected", [
    ("Renode v1.14.0.11437\n  build: a\n", r"Renode 1\.14\.0 at .* is too old: tinyrig supports Renode 1\.15\.0 or "
                                            r"newer \(CI tests 1\.16\.0\)"),
    ("Segmentation fault\n", r"--version' exited with 0 and printed no version: Segmentation fault"),
])
def test_an_unsupported_or_unreadable_version_is_refused_before_starting(fake_renode, tmp_path, marker_elf,
                                                                         version_output, expected):
    exe = fake_renode({"version": version_output})
    target = _target(exe, tmp_path)
    with pytest.raises(RenodeError, match=expected):
        target.start(marker_elf)
    assert target.run is None  # no emulator was started
    assert recorded(tmp_path) == []


@pytest.mark.parametrize("text, version", [
    ("Renode v1.16.0.7005\n  build: -202612060353\n", (1, 16, 0, 7005)),
    ("Renode, version 1.15.3.27963 (e9ab5a0f-202409251013)", (1, 15, 3, 27963)),
    ("Renode v1.16.1", (1, 16, 1, None)),
])
def test_version_strings(text, version):
    parsed = parse_version(text)
    assert (parsed.major, parsed.minor, parsed.patch, parsed.build) == version
