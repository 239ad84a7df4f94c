#!/usr/bin/env python3
"""A stand-in for Renode's telnet monitor, close to the wire: used where Renode cannot be installed.

What it reproduces, from Renode's sources (renode-infrastructure, src/Emulator/Main/Utilities/
SocketServerProvider.cs, UserInterface/ShellProvider.cs and Monitor.cs):
- on connect, the telnet negotiation IAC DO BINARY, IAC DO NAWS, IAC WILL ECHO, IAC WILL SGA,
  IAC WONT LINEMODE; then the banner (blank lines and "Renode, version ...") and "(monitor) ";
- echo of every received character (the shell's line editor), CR LF after Enter;
- the prompt "(<machine>) " once `mach create "<machine>"` ran, "(monitor) " before;
- errors written as Monitor.PrintException does ("There was an error executing command '...'"),
  red (ESC[31;1m) unless started with --plain;
- `quit` closes the connection and ends the process; the log line
  "Monitor available in telnet mode on port N" on stdout once the port listens.
Optionally it drops the first character of the session (a quirk seen with real Renode).

Behaviour per command comes from a JSON "script" (env FAKE_RENODE_SCRIPT when run as `renode`):
  {"errors": {"<command prefix>": "message"}, "hang": ["<prefix>"], "exit_on": {"<prefix>": code},
   "exit_at_start": code, "pin_lines": ["..."], "uart_greeting": "m-ready\\r\\n",
   "eat_first_char": true, "record": "/path/commands.json", "uart_answers": {"name": "m-name-dut-[x]\r\nm-ready\r\n"}}
On `start` it appends `pin_lines` to the pin log named in the GPIO hook and serves the UART port
named by CreateServerSocketTerminal with `uart_greeting`, so a launcher can be checked end to end.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time

TELNET_INIT = bytes([255, 253, 0, 255, 253, 31, 255, 251, 1, 255, 251, 3, 255, 252, 34])
BANNER = "\r\n\r\nRenode, version 1.15.3.27963 (e9ab5a0f-202409251013)\r\n\r\n"
ERROR_ON, ERROR_OFF = "\x1b[31;1m", "\x1b[0m"


class FakeMonitor:
    """One-client monitor server on 127.0.0.1; records every command line it executed."""

    def __init__(self, port: int = 0, *, script: dict | None = None, plain: bool = True):
        self.script = script or {}
        self.plain = plain
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", port))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.commands: list[str] = []
        self.received = b""
        self.machine: str | None = None
        self.quit = threading.Event()
        self.exit_code: int | None = None
        self.uart_server: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> "FakeMonitor":
        self._thread.start()
        return self

    def close(self) -> None:
        self.quit.set()
        for s in (self.server, self.uart_server):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    # -- protocol ----------------------------------------------------------------------------

    def _prompt(self) -> str:
        text = f"({self.machine or 'monitor'}) "
        return text if self.plain else ("\x1b[33m" if self.machine else "\x1b[31m") + text + "\x1b[0m"

    def _error(self, message: str) -> str:
        return (message if self.plain else ERROR_ON + message + ERROR_OFF) + "\r\n"

    def _matches(self, key: str, command: str) -> bool:
        return command.startswith(key)

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        conn.sendall(TELNET_INIT + (BANNER + self._prompt()).encode())
        eat = bool(self.script.get("eat_first_char"))
        line = ""
        iac = 0
        with conn:
            while not self.quit.is_set():
                try:
                    data = conn.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                self.received += data
                for b in data:
                    # Telnet commands from the client (WILL NAWS, the NAWS subnegotiation) are
                    # consumed, as SocketServerProvider.ProcessTelnetSpecial does.
                    if iac:
                        iac = {1: 2 if b in (251, 252, 253, 254) else (3 if b == 250 else 0),
                               2: 0, 3: 4 if b == 255 else 3, 4: 0 if b == 240 else 3}[iac]
                        continue
                    if b == 255:
                        iac = 1
                        continue
                    if eat:
                        eat = False
                        continue
                    ch = chr(b)
                    if ch in "\r\n":
                        conn.sendall(b"\r\n")
                        if not self._run(conn, line):
                            return
                        line = ""
                    else:
                        line += ch
                        conn.sendall(ch.encode())  # echo

    def _run(self, conn: socket.socket, line: str) -> bool:
        command = line.strip()
        if not command:
            conn.sendall(self._prompt().encode())
            return True
        self.commands.append(command)
        record = self.script.get("record")
        if record:
            with open(record, "w") as f:
                json.dump(self.commands, f)
        for key, code in self.script.get("exit_on", {}).items():
            if self._matches(key, command):
                self.exit_code = int(code)
                self.quit.set()
                return False
        for key in self.script.get("hang", []):
            if self._matches(key, command):
                return True  # no answer, no prompt: the client must time out
        if command == "quit":
            self.exit_code = 0
            self.quit.set()
            return False
        for key, message in self.script.get("errors", {}).items():
            if self._matches(key, command):
                conn.sendall((self._error(f"There was an error executing command '{command}'")
                              + self._error(message) + self._prompt()).encode())
                return True
        match = re.fullmatch(r'mach create "([^"]+)"', command)
        if match:
            self.machine = match.group(1)
        if command == "start":
            self._on_start()
        conn.sendall(self._prompt().encode())
        return True

    def _on_start(self) -> None:
        hook = next((c for c in self.commands if "SetHookBeforePeripheralWrite" in c), "")
        log = re.search(r"open\('([^']+)', 'a'\)", hook)
        if log and self.script.get("pin_lines"):
            with open(log.group(1), "a") as f:
                f.write("".join(line + "\n" for line in self.script["pin_lines"]))
        terminal = next((c for c in self.commands if c.startswith("emulation CreateServerSocketTerminal")), "")
        port = re.search(r"CreateServerSocketTerminal (\d+)", terminal)
        if port:
            self.uart_server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.uart_server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.uart_server.bind(("0.0.0.0", int(port.group(1))))  # Renode binds every interface
            self.uart_server.listen(1)
            threading.Thread(target=self._serve_uart, daemon=True).start()

    def _serve_uart(self) -> None:
        try:
            conn, _ = self.uart_server.accept()
        except OSError:
            return
        with conn:
            conn.sendall(self.script.get("uart_greeting", "m-ready\r\n").encode())
            # "uart_answers": {"<command>": "<lines>"}: a canned answer per MLPerf Tiny command
            # (commands end with '%'), so the bench's client can be driven through the fake.
            answers, pending = self.script.get("uart_answers", {}), b""
            conn.settimeout(0.05)
            while not self.quit.is_set():
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                pending += data
                while b"%" in pending:
                    command, _, pending = pending.partition(b"%")
                    text = command.decode(errors="replace").strip()
                    conn.sendall(answers.get(text, f"e-[Unknown command: {text}]\r\nm-ready\r\n").encode())


def main(argv: list[str]) -> int:
    """Runs as a `renode` executable: `renode --disable-xwt --plain --port N`."""
    script = {}
    path = os.environ.get("FAKE_RENODE_SCRIPT")
    if path:
        with open(path) as f:
            script = json.load(f)
    print(f"fake renode started with {' '.join(argv)}", flush=True)
    if "exit_at_start" in script:
        print("[ERROR] fake renode: configured to fail at start-up", flush=True)
        return int(script["exit_at_start"])
    port = int(argv[argv.index("--port") + 1])
    monitor = FakeMonitor(port, script=script, plain="--plain" in argv).start()
    print(f"12:00:00.0000 [INFO] Monitor available in telnet mode on port {port}", flush=True)
    while not monitor.quit.is_set():
        time.sleep(0.02)
    monitor.close()
    print(f"[INFO] fake renode: exiting with {monitor.exit_code}", flush=True)
    return monitor.exit_code or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
