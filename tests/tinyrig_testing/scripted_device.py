"""A scripted MLPerf Tiny device on a loopback socket: the protocol's framing (commands end in '%',
answers end with m-ready) with canned or computed answers, for the DUT client's tests."""

from __future__ import annotations

import socket
import threading
from typing import Callable


class ScriptedDevice:
    """Answers each command with `answers[command]` (bytes), or with `answers(command)` when it is a
    function (a device with state); None means: say nothing."""

    def __init__(self, banner: bytes, answers: dict[str, bytes | None] | Callable[[str], bytes | None],
                 hang_up_on: str | None = None):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        self.banner, self.answers, self.hang_up_on = banner, answers, hang_up_on
        self.received: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            conn.sendall(self.banner)
            pending = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                pending += data
                while b"%" in pending:
                    raw, pending = pending.split(b"%", 1)
                    command = raw.decode()
                    self.received.append(command)
                    if command == self.hang_up_on:
                        conn.sendall(b"m-half-an-ans")
                        return
                    if callable(self.answers):
                        answer = self.answers(command)
                    else:
                        answer = self.answers.get(command, b"e-[Unknown command: " + raw + b"]\r\nm-ready\r\n")
                    if answer is not None:
                        conn.sendall(answer)
