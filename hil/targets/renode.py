"""Run firmware under Renode: headless, monitor on a loopback telnet port, console on a TCP socket.

    target = RenodeTarget(board, pin_log=session / "pins.log")
    run = target.start(elf)             # Renode up, machine built, emulation started
    with Dut(run.url) as dut: ...       # socket://127.0.0.1:PORT, the board's console UART
    marks = run.new_window_marks()      # timestamp-pin writes from board_pin_mark, with instructions
    target.stop()                       # `quit`, then the process group, each step with a timeout

- Renode starts as `renode --disable-xwt --plain --port P`: no GUI, no colours, the monitor
  (its command line) served over telnet on P. tinyrig picks free loopback ports for it and the
  UART; Renode itself binds them on all interfaces (it has no bind-address option).
- The monitor is driven command by command (renode/scripts.py builds the list), each answered
  by Renode's prompt `(<machine>) `; the answer is checked for Renode's error messages, so a
  failure names the command that failed and what Renode said.
- Virtual time: `cpu PerformanceInMips <clock MHz>` makes one instruction one cycle of the board
  clock, and SysTick counts that clock; instruction counts come from the GPIO hook's log.
- Renode runs in its own process group, killed on every way out (finalizer, watchdog, stop()).
- Before starting, tinyrig reads `renode --version` and refuses a release older than it supports
  (renode/version.py). Each Renode process gets a private, empty TMPDIR and config file
  (renode/scratch.py): Renode deletes other `$TMPDIR/renode-*` folders at start-up.
- A board file the installed Renode lacks (`Could not find file`) is replaced by the description
  tinyrig ships for it, if any (renode/platforms/); otherwise the error names the file, the
  installed version and which Renode has it.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from tinyrig.boards import Board
from tinyrig.hil.targets.base import EmulatorProcess, TargetError, TargetSettings, spawn_emulator
from tinyrig.hil.targets.processes import wait_for_exit
from tinyrig.hil.targets.pinwatch import MarkerStore, PinwatchError, symbol_range
from tinyrig.hil.targets.renode_pins import PinEvent, PinLog
from tinyrig.renode.scratch import RenodeScratch
from tinyrig.renode.scripts import (
    PLATFORM_COMMAND,
    RenodeScriptError,
    cpu_mips,
    machine_commands,
    path_token,
    pin_port,
    platform_for,
)
from tinyrig.renode.version import RenodeVersion, RenodeVersionError, check_supported, read_version

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install Renode (https://github.com/renode/renode/releases): the Linux portable tarball "
    "(renode-<version>.linux-portable-dotnet.tar.gz, unpack it and put its folder on PATH), the "
    ".deb (sudo apt install ./renode_<version>_amd64.deb), or `pip install renode-run` and "
    "`renode-run download`; see docs/renode.md"
)

# Renode's monitor prompt is "(monitor) " or "(<machine name>) ", at the start of a line.
PROMPT_RE = re.compile(r"(?:^|\n)\(([^()\n]+)\) ?$")
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
# What Renode's monitor prints when a command fails (Monitor.cs: WriteError and PrintException).
MONITOR_ERRORS = re.compile(
    r"There was an error executing command|No such command or device|Could not find file|"
    r"Bad parameters for command|Could not tokenize|does not provide a field, method or property|"
    r"Failed to download|Errors during compilation|Could not find device"
)
# Shell.WriteError paints errors red when not in --plain mode: Renode 1.16.0 writes
# ESC[;031m ... ESC[0m (recorded); any SGR sequence with parameter 31 or 91 counts as red.
SGR_RE = re.compile(r"\x1b\[([0-9;]*)m")
READY_LINE = "Monitor available in telnet mode on port"

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240


class RenodeError(TargetError):
    """Renode is missing, could not be started, refused a command or stopped unexpectedly."""


class MonitorError(RenodeError):
    """A monitor command was answered with an error."""

    def __init__(self, command: str, output: str):
        self.command, self.output = command, output
        super().__init__(f"Renode refused '{_short(command)}':\n  " + output.replace("\n", "\n  "))


class MonitorTimeout(RenodeError):
    """The monitor did not come back with its prompt in time."""


def _has_red(text: str) -> bool:
    return any(p.isdigit() and int(p) in (31, 91) for m in SGR_RE.finditer(text) for p in m.group(1).split(";"))


def _short(command: str, limit: int = 160) -> str:
    return command if len(command) <= limit else command[: limit - 3] + "..."


def renode_binary(name: str | None = None) -> str:
    """The Renode executable: `name` (a path or a command), $TINYRIG_RENODE, or `renode` on PATH."""
    wanted = name or os.environ.get("TINYRIG_RENODE") or "renode"
    path = shutil.which(wanted)
    if path is None:
        raise RenodeError(f"{wanted!r} not found on PATH; {INSTALL_HINT}")
    return os.path.abspath(path)  # Renode runs in a directory of its own: a relative path would break


def free_port() -> int:
    """A TCP port free on loopback right now (the OS picks it; Renode binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _split_echo(text: str, command: str) -> str:
    """`text` without the monitor's echo of `command` (which a narrow terminal may have wrapped)."""
    i = 0
    for expected in command:
        while i < len(text) and text[i] == "\n":
            i += 1
        if i >= len(text) or text[i] != expected:
            return text  # no (complete) echo: keep everything
        i += 1
    return text[i:]


class MonitorClient:
    """A prompt-aware client for Renode's telnet monitor.

    Renode's socket server opens with telnet negotiation (IAC DO BINARY, DO NAWS, WILL ECHO, WILL
    SUPPRESS-GO-AHEAD, WONT LINEMODE), echoes what it receives through its line editor and ends
    every answer with the prompt. The client strips telnet sequences and ANSI escapes and treats
    the text between the echo and the next prompt as the command's output.

    What a real Renode 1.16.0 does (tests/renode/transcripts/, recorded from it): it echoes long
    commands unwrapped, so the client answers no negotiation (a NAWS window size is not parsed by
    1.16.0: its last byte arrives as a typed character); line ends are LF CR; the prompt's
    trailing space may come in a later TCP segment than the prompt.
    """

    def __init__(self, host: str, port: int, *, timeout_s: float = 30.0):
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.sock: socket.socket | None = None
        self.prompt: str | None = None  # "monitor" or the current machine's name
        self.transcript: list[tuple[str, str]] = []  # ("sent", command) / ("received", output)
        self._buffer = ""
        self._raw = b""  # every byte received, for transcripts (tests/renode/record_transcripts.py)
        # Incremental: a UTF-8 character (the `peripherals` tree) may be split across two reads.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._telnet_state = 0  # 0 data, 1 after IAC, 2 option byte, 3 in SB, 4 IAC inside SB
        self._lock = threading.Lock()

    # -- connection --------------------------------------------------------------------------

    def connect(self, timeout_s: float) -> None:
        """Connects (retrying while the port is not open yet) and waits for the first prompt."""
        deadline = time.monotonic() + timeout_s
        last_error: OSError | None = None
        while time.monotonic() < deadline:
            try:
                self.sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError as exc:
                last_error = exc
                time.sleep(0.1)
        if self.sock is None:
            raise MonitorTimeout(f"Renode's monitor did not accept a connection on {self.host}:{self.port} "
                                 f"within {timeout_s:.0f} s ({last_error})")
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        remaining = max(0.5, deadline - time.monotonic())
        try:
            self._read_until_prompt("(connect)", min(remaining, 10.0))
        except MonitorTimeout:
            pass  # some versions print the banner only after input: the sync below settles it
        # A line of one space (the shell ignores it) answered by a prompt: the session is in step.
        self._send(" \n")
        self._read_until_prompt("(sync)", max(0.5, deadline - time.monotonic()))

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    # -- commands ----------------------------------------------------------------------------

    def execute(self, command: str, timeout_s: float | None = None) -> str:
        """Runs one command; returns its output, or raises MonitorError / MonitorTimeout."""
        if "\n" in command or "\r" in command:
            raise ValueError(f"a monitor command is one line: {command!r}")
        with self._lock:
            self.transcript.append(("sent", command))
            self._send(command + "\n")
            raw_start = len(self._raw)
            text = self._read_until_prompt(command, self.timeout_s if timeout_s is None else timeout_s)
            raw = self._raw[raw_start:]
        # Leading blanks: the previous prompt's trailing space may arrive after the prompt matched.
        output = "\n".join(line.strip() for line in _split_echo(text.lstrip(" \n"), command).split("\n")
                           if line.strip())
        self.transcript.append(("received", output))
        # Red text means WriteError, but "(monitor) " itself is red: look only above the prompt line.
        above_prompt = raw.decode("utf-8", "replace").rsplit("\n", 1)[0]
        if MONITOR_ERRORS.search(output) or _has_red(above_prompt):
            raise MonitorError(command, output or "(an error without a message)")
        return output

    def send_only(self, command: str) -> None:
        """Sends a command whose answer never comes (`quit` closes the connection)."""
        with self._lock:
            self.transcript.append(("sent", command))
            self._send(command + "\n")

    # -- plumbing ----------------------------------------------------------------------------

    def _send(self, text: str) -> None:
        if self.sock is None:
            raise RenodeError("the monitor is not connected")
        try:
            self.sock.sendall(text.encode("utf-8"))
        except OSError as exc:
            raise RenodeError(f"lost the connection to Renode's monitor while sending: {exc}") from None

    def _strip_telnet(self, data: bytes) -> bytes:
        out = bytearray()
        for b in data:
            state = self._telnet_state
            if state == 0:
                if b == IAC:
                    self._telnet_state = 1
                else:
                    out.append(b)
            elif state == 1:
                if b == IAC:
                    out.append(IAC)  # an escaped 255
                    self._telnet_state = 0
                elif b in (DO, DONT, WILL, WONT):
                    self._telnet_state = 2
                elif b == SB:
                    self._telnet_state = 3
                else:
                    self._telnet_state = 0
            elif state == 2:
                self._telnet_state = 0  # the option byte of a negotiation
            elif state == 3:
                if b == IAC:
                    self._telnet_state = 4
            elif state == 4:
                self._telnet_state = 0 if b == SE else 3
        return bytes(out)

    def _read_until_prompt(self, what: str, timeout_s: float) -> str:
        """Reads until the buffer ends with a prompt; returns the text before it."""
        assert self.sock is not None
        deadline = time.monotonic() + timeout_s
        while True:
            # Escapes are removed from the whole buffer: one may be split across two reads.
            clean = ANSI_RE.sub("", self._buffer).replace("\r", "")
            match = PROMPT_RE.search(clean)
            if match:
                self.prompt = match.group(1)
                self._buffer = ""
                return clean[: match.start()]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = clean[-400:].strip() or "(nothing)"
                raise MonitorTimeout(f"Renode's monitor gave no prompt within {timeout_s:.0f} s after "
                                     f"'{_short(what)}'; it had sent: {tail}")
            self.sock.settimeout(min(remaining, 0.5))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as exc:
                raise RenodeError(f"lost the connection to Renode's monitor after '{_short(what)}': {exc}") from None
            if not chunk:
                raise RenodeError(f"Renode's monitor closed the connection after '{_short(what)}'")
            self._raw += chunk
            self._buffer += self._decoder.decode(self._strip_telnet(chunk))


@dataclass
class RenodeRun:
    """A running Renode: the console's pyserial URL, the process and its monitor."""

    url: str
    process: subprocess.Popen
    command: list[str]
    monitor: MonitorClient
    log_path: Path
    instructions_per_second: float
    # Writes to the timestamp pin (the GPIO hook's log) and [lo, hi) of board_pin_mark.
    markers: PinLog | None = None
    mark_range: tuple[int, int] | None = None
    pin_register: int = 0
    events: list[PinEvent] = field(default_factory=list)  # every pin event read so far
    elf: Path | None = None
    version: RenodeVersion | None = None
    platform_file: str = ""  # the description loaded (a monitor path token)
    notes: list[str] = field(default_factory=list)  # what the user should know about this run

    @property
    def emulator_info(self) -> dict:
        """For the session's results: which Renode ran the firmware on which platform description."""
        return {"emulator": "renode", "version": str(self.version) if self.version else None,
                "binary": self.command[0], "platform": self.platform_file.lstrip("@").replace("\\ ", " "),
                "notes": list(self.notes)}

    def new_pin_events(self) -> list[PinEvent]:
        """Pin writes logged since the last call (from any code: marks, pulses, init)."""
        if self.markers is None:
            return []
        new = self.markers.read_new()
        self.events.extend(new)
        return new

    def new_window_marks(self) -> list[MarkerStore]:
        """Window markers since the last call, as the QEMU launcher returns them (same runner code)."""
        if self.mark_range is None:
            return []
        lo, hi = self.mark_range
        return [MarkerStore(e.instructions, e.pc, self.pin_register) for e in self.new_pin_events()
                if lo <= e.pc < hi]

    def exit_code(self) -> int | None:
        return self.process.poll()

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(ANSI_RE.sub("", line).strip() for line in text.splitlines()[-lines:] if line.strip())

    def describe_exit(self) -> str:
        """Why Renode is gone, in words, with the end of its log."""
        code = self.process.poll()
        if code is None:
            return "Renode is still running"
        meaning = f" (killed by signal {-code})" if code < 0 else ""
        tail = self.log_tail()
        return f"Renode exited with code {code}{meaning}" + (f"; log ({self.log_path}): {tail}" if tail else "")


class RenodeTarget(EmulatorProcess):
    """Starts firmware under Renode; `start()` returns the console URL, `stop()` always cleans up."""

    kind = "renode"
    # LoadPlatformDescription may fetch an SVD file (stm32f4.repl: ApplySVD @https://...) on a
    # cold cache, and LoadELF parses a large image: give those more than the default.
    SLOW_COMMANDS = ("machine LoadPlatformDescription", "sysbus LoadELF")

    @classmethod
    def supports(cls, board: Board) -> str | None:
        if not board.emulator.renode_platform:
            other = f" (use --target {board.emulator.kind})" if board.emulator.kind != "none" else ""
            return f"board {board.name} has no Renode platform (emulator.renode_platform in its board file){other}"
        return None

    @classmethod
    def create(cls, board: Board, settings: TargetSettings) -> "RenodeTarget":
        return cls(board, pin_log=settings.marker_log, workdir=settings.workdir)

    def __init__(self, board: Board, *, binary: str | None = None, start_timeout_s: float = 60.0,
                 command_timeout_s: float = 30.0, slow_command_timeout_s: float = 180.0,
                 quit_timeout_s: float = 10.0, max_runtime_s: float = 3600.0, pin_log: Path | None = None,
                 workdir: Path | None = None, extra_args: list[str] | None = None):
        reason = self.supports(board)
        if reason:
            raise RenodeError(reason)
        super().__init__(board, max_runtime_s=max_runtime_s)
        self.binary = binary
        self.start_timeout_s = start_timeout_s
        self.command_timeout_s = command_timeout_s
        self.slow_command_timeout_s = slow_command_timeout_s
        self.quit_timeout_s = quit_timeout_s
        self.pin_log = Path(pin_log) if pin_log else None
        self.workdir = Path(workdir) if workdir else None
        self.extra_args = list(extra_args or [])
        self.run: RenodeRun | None = None
        self._log_file = None
        self._scratch: RenodeScratch | None = None

    @property
    def instructions_per_second(self) -> float:
        """`PerformanceInMips` is the clock in MHz: instructions per second = the board clock."""
        return cpu_mips(self.board) * 1e6

    def command_line(self, monitor_port: int, config: Path | None = None) -> list[str]:
        return [renode_binary(self.binary), "--disable-xwt", "--plain", "--port", str(monitor_port),
                *(["--config", str(config)] if config else []), *self.extra_args]

    def version(self) -> RenodeVersion:
        """The installed Renode's version (`renode --version`), checked against what tinyrig supports."""
        binary = renode_binary(self.binary)
        try:
            version = read_version(binary)
            check_supported(version, binary)
        except RenodeVersionError as exc:
            raise RenodeError(str(exc)) from None
        return version

    def start(self, elf: Path) -> RenodeRun:
        elf = Path(elf).resolve()
        if not elf.is_file():
            raise RenodeError(f"firmware not found: {elf}")
        try:
            # Every board fact the commands need, checked before anything is started.
            machine_commands(self.board, path_token(elf), 0)
            pin_watch = self.pin_log is not None and pin_port(self.board) is not None
        except RenodeScriptError as exc:
            raise RenodeError(str(exc)) from None
        mark_range = None
        if pin_watch:
            try:
                mark_range = symbol_range(elf, "board_pin_mark")
            except PinwatchError as exc:
                raise RenodeError(f"cannot find the window-marker function in {elf}: {exc}") from None
            self.pin_log.parent.mkdir(parents=True, exist_ok=True)
            self.pin_log.unlink(missing_ok=True)  # the hook appends: each run starts a fresh file
        version = self.version()
        monitor_port, uart_port = free_port(), free_port()
        while uart_port == monitor_port:
            uart_port = free_port()

        scratch = self._scratch = RenodeScratch()
        cmd = self.command_line(monitor_port, scratch.config_path)
        workdir = self.workdir or scratch.directory
        workdir.mkdir(parents=True, exist_ok=True)
        log_path = workdir / "renode.log"
        self._log_file = open(log_path, "wb")
        try:
            process = spawn_emulator(cmd, cwd=workdir, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     env=scratch.environment())
        except OSError as exc:
            self._log_file.close()
            self._log_file = None
            scratch.cleanup()
            self._scratch = None
            raise RenodeError(f"cannot start {cmd[0]}: {exc}") from None
        self.process = process
        # A target dropped without stop() still removes Renode's temp files.
        weakref.finalize(self, scratch.cleanup)
        monitor = MonitorClient("127.0.0.1", monitor_port, timeout_s=self.command_timeout_s)
        run = RenodeRun(url=f"socket://127.0.0.1:{uart_port}", process=process, command=cmd, monitor=monitor,
                        log_path=log_path, instructions_per_second=self.instructions_per_second,
                        markers=PinLog(self.pin_log) if pin_watch else None, mark_range=mark_range,
                        pin_register=self.board.timestamp_pin.register, elf=elf, version=version)
        self.run = run
        try:
            self._connect(run)
            for command in machine_commands(self.board, path_token(elf), uart_port,
                                            self.pin_log if pin_watch else None):
                if command.startswith(PLATFORM_COMMAND):
                    self._load_platform(run)
                else:
                    self._execute(run, command)
            self._execute(run, "start")
        except RenodeError as exc:
            # Say what Renode itself reported: its exit, or the end of its log.
            detail = run.describe_exit() if run.exit_code() is not None else run.log_tail()
            self.stop()
            if detail and detail not in str(exc):
                exc.args = (f"{exc}\n  Renode log: {detail}",)
            raise
        except BaseException:
            self.stop()
            raise
        self._launched(process)
        return run

    def _load_platform(self, run: RenodeRun) -> None:
        """Renode's own board file, or, where the installed Renode lacks it, tinyrig's replacement."""
        platform = platform_for(self.board)
        refused: list[str] = []
        for token in platform.description_files():
            try:
                self._execute(run, f"{PLATFORM_COMMAND} {token}")
            except MonitorError as exc:
                if "Could not find file" not in exc.output:
                    raise
                refused.append(exc.output.splitlines()[-1])
                continue
            run.platform_file = token
            if refused:
                run.notes.append(f"Renode {run.version} has no {platform.repl} (it is in {platform.availability}); "
                                 f"using tinyrig's renode/platforms/{platform.fallback}, built on {platform.fallback_basis}")
                log.warning("%s", run.notes[-1])
            return
        raise RenodeError(f"board {self.board.name} needs {platform.repl}, which Renode {run.version} "
                          f"({run.command[0]}) does not have: it is in {platform.availability}"
                          + (f"; tinyrig's replacement needs {platform.fallback_basis}" if platform.fallback else "")
                          + f". Renode said: {' / '.join(refused)}")

    def _connect(self, run: RenodeRun) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        # Wait for the process to announce its monitor (or to die) before connecting: a port that
        # is not open yet is retried by connect(), a process that exited is reported at once.
        while time.monotonic() < deadline:
            if run.exit_code() is not None:
                raise RenodeError(f"Renode stopped before its monitor came up: {run.describe_exit()}")
            try:
                if READY_LINE.encode() in run.log_path.read_bytes():
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise MonitorTimeout(f"Renode did not announce its monitor within {self.start_timeout_s:.0f} s "
                                 f"(no '{READY_LINE}' in {run.log_path})")
        run.monitor.connect(max(1.0, deadline - time.monotonic()))

    def _execute(self, run: RenodeRun, command: str) -> str:
        slow = command.startswith(self.SLOW_COMMANDS)
        try:
            return run.monitor.execute(command, self.slow_command_timeout_s if slow else self.command_timeout_s)
        except RenodeError as exc:
            if not isinstance(exc, (MonitorError, MonitorTimeout)):
                # A dropped connection usually means Renode is exiting: give it a moment, so the
                # error can say how it ended rather than just "connection closed".
                wait_for_exit(run.process, 2.0)
            if run.exit_code() is not None:
                raise RenodeError(f"Renode stopped during '{_short(command)}': {run.describe_exit()}") from None
            raise

    def _shutdown(self) -> None:
        """`quit` through the monitor first (bounded); the process group is killed after it."""
        run = self.run
        if run is not None and run.monitor.sock is not None:
            try:
                run.monitor.send_only("quit")
                run.process.wait(timeout=self.quit_timeout_s)
            except (RenodeError, subprocess.TimeoutExpired):
                pass

    def _release(self) -> None:
        if self.run is not None:
            self.run.monitor.close()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._scratch is not None:
            # A crash report is worth keeping with the session; everything else goes.
            if self.workdir is not None:
                for report in self._scratch.crash_reports():
                    shutil.move(str(report), str(self.workdir / report.name))
            self._scratch.cleanup()
            self._scratch = None
