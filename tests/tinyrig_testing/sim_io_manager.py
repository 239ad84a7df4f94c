"""A simulated MLPerf Tiny interface board on a pty, relaying to a real DUT console.

It speaks the board's protocol as the open runner expects it (name, `dut <command>` with the
`m-dut-passthrough(...)` acknowledgement and `[dut]: ` prefixed relay, the streaming extras)
and forwards each DUT command to `dut_url` (for instance a QEMU firmware's console socket), so
the whole path host -> board -> DUT -> board -> host is exercised with real firmware answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import serial

from tinyrig_testing.pty_sim import PtyInstrument

NAME = "tinyML Enhanced Interface Board"
MAX_FRAMES = 100  # the board keeps this many processing-pin edges of each kind (DeviceUnderTest.hpp)
HOP_TICKS = 3200  # 32 ms of audio per hop, in the board's 10 us timer ticks


@dataclass
class BoardRecording:
    """What the board's pin inputs see while one wav plays: detection times (ms since
    record_detections) and the processing pin's (rise, fall) edges in 10 us ticks."""

    detections_ms: list[int]
    processing_ticks: list[tuple[int, int]]


def recording_at_truth(windows: list[list[float]], length_s: float, *, delay_s: float = 0.3,
                       busy_ticks: int = 90, extra_ms: tuple[int, ...] = ()) -> BoardRecording:
    """A DUT that finds every wakeword `delay_s` into its window: the first-frame pulse at the
    first hop (the origin), then one pulse per wakeword (plus `extra_ms` false ones), and a
    processing pulse of `busy_ticks` at every hop."""
    origin = HOP_TICKS // 100
    detections = sorted([origin] + [origin + round((start + delay_s) * 1000) for start, _ in windows]
                        + [origin + t for t in extra_ms])
    hops = int(length_s * 100_000) // HOP_TICKS
    return BoardRecording(detections, [(k * HOP_TICKS + 37, k * HOP_TICKS + 37 + busy_ticks) for k in range(1, hops)])


class IoManagerSim(PtyInstrument):
    def __init__(self, dut_url: str, *, dut_timeout_s: float = 30.0, mute: bool = False,
                 recordings: dict[str, BoardRecording] | None = None, play_s: float = 0.5,
                 dut_setup: tuple[str, ...] = ()):
        super().__init__()
        self.recordings = recordings or {}  # what each wav on its "SD card" makes the DUT's pins do
        self.play_s = play_s  # how long `play` blocks (the real board: the wav's length)
        self.dut_setup = dut_setup  # commands the board's DUT gets once, before the host's first
        self.played: list[str] = []
        self.duty_ticks: list[tuple[int, int]] = []  # what print_dutycycle reports
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
            for command in self.dut_setup:  # test set-up (e.g. the emulated DUT's audio file)
                self._dut.write(command.encode() + b"%")
                pending, deadline = b"", time.monotonic() + self.dut_timeout_s
                while time.monotonic() < deadline and b"m-ready" not in pending:
                    pending += self._dut.read(4096)
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
                    self.detections_ms, self.duty_ticks = [], []
                    self.send(b"Now recording detections\r\nm-ready\r\n")
                elif word == "play":
                    self._play(args)
                elif word == "print_detections":
                    body = "".join(f"{t},\r\n" for t in self.detections_ms)
                    self.send(f"Detection Timestamps (ms)\r\n{body}m-ready\r\n".encode())
                elif word == "print_dutycycle":
                    self.send(self._dutycycle_text().encode())
                else:
                    self.send(b"m-ready\r\n")

    def _play(self, name: str) -> None:
        self.played.append(name)
        self.send(f"Attempting to play {name}\n".encode())
        recording = self.recordings.get(name)
        if recording is None:
            self.send(b"Error playing file. Check that the file exists and is a 2-channel wav file.\nm-ready\r\n")
            return
        time.sleep(self.play_s)
        self.detections_ms = list(recording.detections_ms)
        self.duty_ticks = list(recording.processing_ticks[:MAX_FRAMES])
        self.send(b"succeeded.\nm-ready\r\n")

    def _dutycycle_text(self) -> str:
        """As InterfaceMenu::PrintDutycycle: "N, " items, a line break after every 8th, and m-ready
        straight after the last stop time (on its line when the count is not a multiple of 8)."""
        def items(values: list[int]) -> str:
            return "".join(f"{v}, " + ("\r\n" if (i + 1) % 8 == 0 else "") for i, v in enumerate(values))

        return ("Duty cycle start times (s)\r\n" + items([a for a, _ in self.duty_ticks]) + "\r\n"
                + "Duty cycle stop times (s)\r\n" + items([b for _, b in self.duty_ticks]) + "m-ready\r\n")

    def close(self) -> None:
        if self._dut is not None:
            self._dut.close()
        super().close()
