"""A simulated MLPerf Tiny interface board on a pty, relaying to a real DUT console.

It speaks the board's protocol as the open runner expects it (name, `dut <command>` with the
`m-dut-passthrough(...)` acknowledgement and `[dut]: ` prefixed relay, the streaming extras)
and forwards each DUT command to `dut_url` (for instance a QEMU firmware's console socket), so
the whole path host -> board -> DUT -> board -> host is exercised with real firmware answers.
"""

from __future__ import annotations

import time

import serial

from tinyrig_testing.pty_sim import PtyInstrument

NAME = "tinyML Enhanced Interface Board"


class IoManagerSim(PtyInstrument):
    def __init__(self, dut_url: str, *, dut_timeout_s: float = 30.0, mute: bool = False):
        super().__init__()
        self.dut_url = dut_url
        self.dut_timeout_s = dut_timeout_s
        self.mute = mute  # a board that never answers (wrong port, wrong baud)
        self.board_commands: list[str] = []  # every command the host sent the board
        self.dut_commands: list[str] = []  # every command relayed to the DUT
        self.detections_ms: list[int] = []  # what print_detections reports
        self._dut: serial.SerialBase | None = None
        self._inbuf = b""

    # -- the relay -----------------------------------------------------------------------
    def _dut_port(self) -> serial.SerialBase:
        if self._dut is None:
            self._dut = serial.serial_for_url(self.dut_url, timeout=0.05)
            # Whatever the DUT printed before the first command (its boot banner) stays on the
            # board: the real board only relays the answer to a passthrough command.
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and b"m-ready" not in self._dut.read(4096):
                pass
        return self._dut

    def _relay(self, command: str) -> None:
        self.dut_commands.append(command)
        self.send(f"m-dut-passthrough({command})\r\nm-ready\r\n".encode())
        port = self._dut_port()
        port.write(command.encode() + b"%")
        pending, deadline = b"", time.monotonic() + self.dut_timeout_s
        while time.monotonic() < deadline:
            pending += port.read(4096)
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                text = line.rstrip(b"\r")
                self.send(b"[dut]: " + text + b"\r\n")
                if text.strip() == b"m-ready":
                    return

    # -- the board's own commands ----------------------------------------------------------
    def serve(self) -> None:
        while not self._stop.is_set():
            self._inbuf += self.read_available(0.05)
            while b"%" in self._inbuf:
                raw, _, self._inbuf = self._inbuf.partition(b"%")
                command = raw.decode(errors="replace").strip()
                self.board_commands.append(command)
                if self.mute:
                    continue
                word, _, args = command.partition(" ")
                if word == "dut":
                    self._relay(args)
                elif word == "name":
                    self.send(f"{NAME}\r\nm-ready\r\n".encode())
                elif word == "record_detections":
                    self.send(b"Now recording detections\r\nm-ready\r\n")
                elif word == "print_detections":
                    body = "".join(f"{t},\r\n" for t in self.detections_ms)
                    self.send(f"Detection Timestamps (ms)\r\n{body}m-ready\r\n".encode())
                else:
                    self.send(b"m-ready\r\n")

    def close(self) -> None:
        if self._dut is not None:
            self._dut.close()
        super().close()
