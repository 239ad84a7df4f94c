#!/usr/bin/env python3
"""A stand-in for Renode that replays what a real Renode said (renode_transcripts/renode-<version>.json,
recorded by record_renode_transcripts.py from Renode itself): the fast tier of the Renode tests.

On connect it sends the recorded greeting (telnet negotiation, banner, prompt) byte for byte. A
line it receives that matches a recorded one (placeholders such as <<elf>> match any value) is
answered with the recorded bytes, the values filled in; any other line gets the recorded framing
of a silent command (echo, LF CR, prompt) or, when the test script says so, of an error. Like
Renode 1.16.0 it parses telnet commands as IAC + command (+ option) and nothing more, so the bytes
of a subnegotiation arrive as typed characters (0x7F deletes, 0x00 is ignored).

Behaviour beyond the recording comes from a JSON "script" (env FAKE_RENODE_SCRIPT when run as
`renode`):
  {"errors": {"<line prefix>": "message"}, "hang": ["<prefix>"], "exit_on": {"<prefix>": code},
   "succeed": ["<prefix>"], "exit_at_start": code, "version": "text for --version",
   "pin_lines": ["..."], "uart_greeting": "m-ready\\r\\n", "record": "/path/commands.json",
   "env_record": "/path/env.json", "uart_answers": {"name": "m-name-dut-[x]\\r\\nm-ready\\r\\n"}}
`succeed` answers a line as a silent command even where the recording has an error (a newer
Renode that has the file). It listens on the UART port named by CreateServerSocketTerminal
(greeting a client with `uart_greeting`, answering MLPerf Tiny commands from `uart_answers`) and
on `start` appends `pin_lines` to the pin log named in the GPIO hook.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRANSCRIPTS = HERE / "renode_transcripts"
TRANSCRIPT = TRANSCRIPTS / "renode-1.16.0.json"
# A prompt as Renode writes it: after a line end, optionally coloured, with its trailing space.
PROMPT = re.compile(r"(?<=[\r\n])(?:\x1b\[[0-9;]*m)*\([^()\r\n]+\) (?:\x1b\[0m)?$")
PLACEHOLDER = re.compile(r"<<(\w+)>>")
RECORDED_MACHINE = "tinyrig"
MISSING_FILE_COMMAND = "machine LoadPlatformDescription @platforms/boards/no_such_board.repl"


def load_transcript(path: Path = TRANSCRIPT) -> dict:
    return json.loads(Path(path).read_text())


def _line_pattern(template: str) -> re.Pattern:
    parts, seen, last = [], set(), 0
    for match in PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last:match.start()]))
        name = match.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts))


def _fill(template: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


class Recording:
    """One recorded session: its greeting, its exchanges, and the framing of a silent command,
    an error and the prompt, taken from the exchanges themselves."""

    def __init__(self, sessions: list[dict]):
        self.greeting = sessions[0]["greeting"]
        self.exchanges = [(_line_pattern(e["line"]), e["answer"]) for s in sessions for e in s["exchanges"]]
        by_line = {e["line"]: e["answer"] for s in sessions for e in s["exchanges"]}
        sync = by_line[" "]
        created = by_line[f'mach create "{RECORDED_MACHINE}"']
        error = by_line[MISSING_FILE_COMMAND]
        self.monitor_prompt = PROMPT.search(sync).group(0)
        self.machine_prompt = PROMPT.search(created).group(0).replace(RECORDED_MACHINE, "<<machine>>")
        self.silent = created[: PROMPT.search(created).start()].replace(f'mach create "{RECORDED_MACHINE}"', "<<line>>")
        body = error[: PROMPT.search(error).start()].replace(MISSING_FILE_COMMAND, "<<line>>")
        message = re.search(r"Could not find file '[^']*'\.", body).group(0)
        self.error = body.replace(message, "<<message>>")

    def prompt(self, machine: str | None) -> str:
        return _fill(self.machine_prompt, {"machine": machine}) if machine else self.monitor_prompt

    def answer(self, line: str) -> str | None:
        for pattern, answer in self.exchanges:
            match = pattern.fullmatch(line)
            if match:
                return _fill(answer, match.groupdict())
        return None


class FakeMonitor:
    """One-client monitor server on 127.0.0.1; records every command line it executed."""

    def __init__(self, port: int = 0, *, script: dict | None = None, plain: bool = True,
                 transcript: dict | None = None):
        self.script = script or {}
        transcript = transcript or load_transcript()
        sessions = transcript["sessions"]
        self.recording = Recording([sessions["f4"], sessions["f767"]] if plain else [sessions["colour"]])
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

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        conn.sendall(self.recording.greeting.encode("latin-1"))
        line = ""
        telnet = 0  # 1 after IAC, 2 before a negotiation's option byte
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
                    if telnet == 1:  # after IAC: WILL/WONT/DO/DONT/SB take an option byte, then data
                        telnet = 2 if b in (250, 251, 252, 253, 254) else 0
                        continue
                    if telnet == 2:
                        telnet = 0
                        continue
                    if b == 255:
                        telnet = 1
                        continue
                    if b in (0x7F, 0x08):
                        line = line[:-1]
                    elif b == 0:
                        pass
                    elif chr(b) in "\r\n":
                        if not self._run(conn, line):
                            return
                        line = ""
                    else:
                        line += chr(b)

    def _send_answer(self, conn: socket.socket, body: str) -> None:
        conn.sendall((body + self.recording.prompt(self.machine)).encode("latin-1"))

    def _run(self, conn: socket.socket, line: str) -> bool:
        command = line.strip()
        if not command:
            conn.sendall(_fill(self.recording.silent, {"line": line}).encode("latin-1")
                         + self.recording.prompt(self.machine).encode("latin-1"))
            return True
        self.commands.append(command)
        record = self.script.get("record")
        if record:
            with open(record, "w") as f:
                json.dump(self.commands, f)
        for key, code in self.script.get("exit_on", {}).items():
            if command.startswith(key):
                self.exit_code = int(code)
                self.quit.set()
                return False
        if any(command.startswith(key) for key in self.script.get("hang", [])):
            return True  # no answer, no prompt: the client must time out
        if command == "quit":
            self.exit_code = 0
            self.quit.set()
            return False
        for key, message in self.script.get("errors", {}).items():
            if command.startswith(key):
                self._send_answer(conn, _fill(self.recording.error, {"line": line, "message": message}))
                return True
        match = re.fullmatch(r'mach create "([^"]+)"', command)
        if match:
            self.machine = match.group(1)
        terminal = re.match(r"emulation CreateServerSocketTerminal (\d+)", command)
        if terminal:
            self._serve_uart_on(int(terminal.group(1)))  # Renode listens as soon as the terminal exists
        if command == "start":
            self._on_start()
        recorded = None if any(command.startswith(k) for k in self.script.get("succeed", [])) else \
            self.recording.answer(line)
        if recorded is not None and self.machine in (None, RECORDED_MACHINE):
            conn.sendall(recorded.encode("latin-1"))
        else:
            self._send_answer(conn, _fill(self.recording.silent, {"line": line}))
        return True

    def _on_start(self) -> None:
        hook = next((c for c in self.commands if "SetHookBeforePeripheralWrite" in c), "")
        log = re.search(r"open\('([^']+)', 'a'\)", hook)
        if log and self.script.get("pin_lines"):
            with open(log.group(1), "a") as f:
                f.write("".join(line + "\n" for line in self.script["pin_lines"]))

    def _serve_uart_on(self, port: int) -> None:
        self.uart_server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.uart_server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.uart_server.bind(("0.0.0.0", port))  # Renode binds every interface
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
    """Runs as a `renode` executable: `renode --version`, or `renode --disable-xwt --plain --port N ...`."""
    script = {}
    path = os.environ.get("FAKE_RENODE_SCRIPT")
    if path:
        with open(path) as f:
            script = json.load(f)
    transcript = load_transcript()
    if script.get("env_record"):
        with open(script["env_record"], "a") as f:
            f.write(json.dumps({"argv": argv, "TMPDIR": os.environ.get("TMPDIR"), "cwd": os.getcwd(),
                                "tmp_entries": sorted(os.listdir(os.environ["TMPDIR"]))
                                if os.path.isdir(os.environ.get("TMPDIR", "")) else None}) + "\n")
    if "--version" in argv:
        print(script.get("version", transcript["version_output"]), end="", flush=True)
        return 0
    print(f"fake renode started with {' '.join(argv)}", flush=True)
    if "exit_at_start" in script:
        print("[ERROR] fake renode: configured to fail at start-up", flush=True)
        return int(script["exit_at_start"])
    port = int(argv[argv.index("--port") + 1])
    monitor = FakeMonitor(port, script=script, plain="--plain" in argv, transcript=transcript).start()
    print(_fill(transcript["ready_line"], {"monitor_port": str(port)}), flush=True)
    while not monitor.quit.is_set():
        time.sleep(0.02)
    monitor.close()
    print(f"[INFO] fake renode: exiting with {monitor.exit_code}", flush=True)
    return monitor.exit_code or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
