"""Records what a real Renode says on its monitor, for the fake (fake_renode.py) to replay.

    PYTHONPATH=tests python -m tinyrig_testing.record_renode_transcripts [--renode PATH] [--out DIR]

writes tests/tinyrig_testing/renode_transcripts/renode-<version>.json: the `--version` output, the log line that announces the
monitor, and three monitor sessions, byte for byte (telnet negotiation, echo, line ends, colours):
- "f4": tinyrig's own start-up of renode-stm32f4-discovery (RenodeTarget.start on a tiny ELF),
  then the fast loader's commands, a refused command and `version`;
- "f767": the start-up of renode-nucleo-f767zi (on 1.16.0: Renode's board file is missing, and
  tinyrig's replacement is loaded);
- "colour": a session without --plain (colours on), with an error.
Values that change from run to run (paths, ports) are replaced by <<name>> placeholders.
tests/renode/test_renode_real.py re-records with the installed Renode and compares.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tinyrig.boards import load_board
from tinyrig.hil.targets.renode import READY_LINE, MonitorClient, RenodeTarget, free_port, renode_binary
from tinyrig.renode.scratch import RenodeScratch
from tinyrig.renode.scripts import shipped_platform
from tinyrig.renode.version import read_version
from tinyrig_testing.fake_renode import TRANSCRIPTS
from tinyrig_testing.marker_elf import build_marker_elf

# A prompt, as Renode writes it: after a line end, optionally coloured, with its trailing space.
PROMPT = re.compile(rb"(?<=[\r\n])(?:\x1b\[[0-9;]*m)*\([^()\r\n]+\) (?:\x1b\[0m)?")
SYNC_LINE = " "  # what MonitorClient.connect sends to get in step
FAST_LOAD_ADDRESS, FAST_LOAD_COUNT_ADDRESS = 0x20000100, 0x20000004


def _drain(monitor: MonitorClient, seconds: float = 0.5) -> None:
    """Reads what is still in flight (a prompt's trailing space or colour reset) into the raw log."""
    assert monitor.sock is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        monitor.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = monitor.sock.recv(65536)
        except (socket.timeout, OSError):
            break
        if not chunk:
            break
        monitor._raw += chunk


def split_session(raw: bytes, lines: list[str]) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The greeting (up to the first prompt) and, per line sent, the bytes up to its prompt."""
    ends = [m.end() for m in PROMPT.finditer(raw)]
    if len(ends) != len(lines) + 1:
        raise RuntimeError(f"{len(ends)} prompts for {len(lines)} lines sent: cannot pair them")
    return raw[: ends[0]], [(line, raw[a:b]) for line, a, b in zip(lines, ends, ends[1:])]


def _text(data: bytes) -> str:
    return data.decode("latin-1")  # byte for byte, JSON-safe


class Placeholders:
    def __init__(self, values: dict[str, str]):
        # Longest first, so a path is replaced before a prefix of it.
        self.values = sorted(values.items(), key=lambda kv: -len(kv[1]))

    def __call__(self, text: str) -> str:
        for name, value in self.values:
            # A port number only as a whole number, never inside another (an address, a frequency).
            pattern = rf"(?<![0-9]){re.escape(value)}(?![0-9])" if value.isdigit() else re.escape(value)
            text = re.sub(pattern, f"<<{name}>>", text)
        return text


def _session(raw: bytes, lines: list[str], placeholders: Placeholders) -> dict:
    greeting, exchanges = split_session(raw, lines)
    return {"greeting": placeholders(_text(greeting)),
            "exchanges": [{"line": placeholders(line), "answer": placeholders(_text(answer))}
                          for line, answer in exchanges]}


def _sent(monitor: MonitorClient) -> list[str]:
    return [SYNC_LINE] + [c for d, c in monitor.transcript if d == "sent" and c != "quit"]


def record_target(binary: str, board_name: str, elf: Path, work: Path, extra: list[str]) -> tuple[dict, str]:
    """tinyrig's start-up of `board_name`, then `extra` commands; returns the session and the ready line."""
    target = RenodeTarget(load_board(board_name), binary=binary, pin_log=work / "pins.log", workdir=work / "renode")
    run = target.start(elf)
    try:
        for command in extra:
            try:
                run.monitor.execute(command)
            except Exception:  # a refused command is part of what is recorded
                pass
        _drain(run.monitor)
        raw, lines = run.monitor._raw, _sent(run.monitor)
        monitor_port = run.command[run.command.index("--port") + 1]
        config = run.command[run.command.index("--config") + 1]
        uart_port = run.url.rsplit(":", 1)[1]
    finally:
        target.stop()
    ready = next(line for line in (work / "renode" / "renode.log").read_text().splitlines() if READY_LINE in line)
    placeholders = Placeholders({"elf": str(elf), "pin_log": str(work / "pins.log"), "uart_port": uart_port,
                                 "monitor_port": monitor_port, "config": config, "work": str(work),
                                 "shipped": str(shipped_platform("x").parent)})
    return _session(raw, lines, placeholders), placeholders(ready)


def record_colour(binary: str, commands: list[str]) -> dict:
    """A session started without --plain, driven directly (tinyrig itself always uses --plain)."""
    with RenodeScratch() as scratch:
        port = free_port()
        with open(scratch.directory / "log", "wb") as log:
            process = subprocess.Popen([binary, "--disable-xwt", "--port", str(port), "--config",
                                        str(scratch.config_path)], stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=scratch.environment(), cwd=scratch.directory,
                                       start_new_session=True)
            try:
                deadline = time.monotonic() + 60
                while READY_LINE.encode() not in (scratch.directory / "log").read_bytes():
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("Renode did not announce its monitor")
                    time.sleep(0.05)
                monitor = MonitorClient("127.0.0.1", port, timeout_s=30)
                monitor.connect(30)
                for command in commands:
                    try:
                        monitor.execute(command)
                    except Exception:
                        pass
                _drain(monitor)
                monitor.send_only("quit")
                process.wait(timeout=15)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    return _session(monitor._raw, _sent(monitor), Placeholders({"monitor_port": str(port)}))


def record(binary: str, work: Path) -> dict:
    version = read_version(binary)
    with RenodeScratch() as scratch:
        version_output = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60,
                                        env=scratch.environment(), cwd=scratch.directory).stdout
    elf = build_marker_elf(work / "elf")
    input_file = work / "input.bin"
    input_file.write_bytes(bytes(range(16)))
    extra = [f"sysbus LoadBinary @{input_file} {FAST_LOAD_ADDRESS:#x}",
             f"sysbus WriteDoubleWord {FAST_LOAD_COUNT_ADDRESS:#x} 16",
             f"sysbus ReadDoubleWord {FAST_LOAD_COUNT_ADDRESS:#x}",
             "machine LoadPlatformDescription @platforms/boards/no_such_board.repl",
             "version"]
    f4, ready = record_target(binary, "renode-stm32f4-discovery", elf, work / "f4", extra)
    f767, _ = record_target(binary, "renode-nucleo-f767zi", elf, work / "f767", [])
    colour = record_colour(binary, ['mach create "tinyrig"', "cpu PerformanceInMips 168",
                                    "machine LoadPlatformDescription @platforms/boards/no_such_board.repl",
                                    "version"])
    # The input file's path is a placeholder of its own in the loader's command.
    for exchange in f4["exchanges"]:
        for key in ("line", "answer"):
            exchange[key] = exchange[key].replace(str(input_file), "<<input>>")
    return {"renode": str(version), "recorded_with": Path(binary).name, "version_output": version_output,
            "ready_line": ready, "sessions": {"f4": f4, "f767": f767, "colour": colour}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renode", default=None, help="the Renode to record (default: $TINYRIG_RENODE or PATH)")
    parser.add_argument("--out", type=Path, default=TRANSCRIPTS)
    args = parser.parse_args()
    binary = renode_binary(args.renode)
    with tempfile.TemporaryDirectory(prefix="tinyrig-record-") as tmp:
        transcript = record(binary, Path(tmp))
    path = args.out / f"renode-{transcript['renode']}.json"
    path.write_text(json.dumps(transcript, indent=1) + "\n")
    print(f"recorded {path}")


if __name__ == "__main__":
    main()
