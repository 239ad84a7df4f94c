"""How an input reaches the DUT: the standard `db` commands, or tinyrig's fast path in emulation.

Sending a 27 KB input as hex over QEMU's UART takes seconds (QEMU delivers one character at a
time). When the firmware announces `load` in `tinyrig caps` and the target runs on this host,
the input is written to a file and the firmware reads it with semihosting instead. Under Renode
(no semihosting file access) the bench writes the input straight into the firmware's input
buffer through Renode's monitor. The `db` path stays the default everywhere else and is what
hardware always uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tinyrig.hil.dut.client import Dut, DutError, batch_file_bytes, input_file_bytes
from tinyrig.hil.dut.dataset import window_count
from tinyrig.renode.scripts import path_token

# The whole command must fit the protocol's 80 characters: "tinyrig load " + the path.
MAX_PATH_CHARS = 80 - len("tinyrig load ")
MAX_BATCH_PATH_CHARS = 80 - len("tinyrig batch ")


class Loader(Protocol):
    name: str

    def load(self, dut: Dut, data: bytes) -> None: ...

    def close(self) -> None: ...


class DbLoader:
    name = "db"

    def load(self, dut: Dut, data: bytes) -> None:
        dut.load(data)

    def close(self) -> None:
        pass


class SemihostLoader:
    """Writes each input to one short-named file that the emulated firmware reads."""

    name = "semihost"

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="tr", dir="/tmp" if os.path.isdir("/tmp") else None))
        self.path = self.directory / "in.bin"
        if len(str(self.path)) > MAX_PATH_CHARS or " " in str(self.path):
            raise OSError(f"{self.path}: too long or has a space for a `tinyrig load` command")

    def load(self, dut: Dut, data: bytes) -> None:
        tmp = self.directory / "in.tmp"
        tmp.write_bytes(input_file_bytes(data))
        os.replace(tmp, self.path)
        dut.fast_load(str(self.path))

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass(frozen=True)
class BatchOutput:
    """One input's answer in a batch: its `m-results-[...]` line and its raw output tensor bytes."""

    line: str
    raw: bytes


class SemihostBatcher:
    """Many inputs per command: writes one batch file that the emulated firmware's `tinyrig batch`
    reads through semihosting, runs them back to back and answers one result line per input; the
    raw output tensors come back in a file beside it (docs/protocol.md)."""

    name = "semihost-batch"

    def __init__(self, input_bytes: int, silence_s: float = 60.0, directory: Path | None = None) -> None:
        """`directory`: the folder of the run's `tinyrig load` files, when it has one (the firmware
        takes files from one folder only, the first load's); else a private one of its own."""
        self.input_bytes = input_bytes
        self.silence_s = silence_s  # how long the device may stay silent between two inputs' lines
        self._owns_directory = directory is None
        self.directory = Path(directory) if directory is not None else Path(
            tempfile.mkdtemp(prefix="trb", dir="/tmp" if os.path.isdir("/tmp") else None))
        self.path = self.directory / "batch.bin"
        self.raw_path = self.directory / "batch.bin.raw"  # the name the firmware derives
        if len(str(self.path)) > MAX_BATCH_PATH_CHARS or " " in str(self.path):
            raise OSError(f"{self.path}: too long or has a space for a `tinyrig batch` command")

    def run_inputs(self, dut: Dut, inputs: list[bytes]) -> list[BatchOutput]:
        """Each input once, in order (they are sent back to back: stride = input size)."""
        for i, data in enumerate(inputs):
            if len(data) != self.input_bytes:
                raise ValueError(f"input {i} of the batch has {len(data)} bytes, the model takes {self.input_bytes}")
        return self._run(dut, b"".join(inputs), self.input_bytes)

    def run_windows(self, dut: Dut, data: bytes, stride: int) -> list[BatchOutput]:
        """Every window of `data` (a window every `stride` bytes while one fits), cut on the device."""
        return self._run(dut, data, stride)

    def _run(self, dut: Dut, data: bytes, stride: int) -> list[BatchOutput]:
        count = window_count(len(data), self.input_bytes, stride)
        if count == 0:
            raise ValueError(f"a batch of {len(data)} bytes holds no whole {self.input_bytes}-byte input")
        tmp = self.directory / "batch.tmp"
        tmp.write_bytes(batch_file_bytes(self.input_bytes, stride, data))
        os.replace(tmp, self.path)
        self.raw_path.unlink(missing_ok=True)  # a stale file must not pass for this batch's outputs
        lines = dut.batch(str(self.path), count, self.silence_s)
        raw = self.raw_path.read_bytes() if self.raw_path.is_file() else b""
        if not raw or len(raw) % count:
            raise DutError(f"{self.raw_path}: {len(raw)} bytes of raw outputs for {count} inputs",
                           f"tinyrig batch {self.path}")
        size = len(raw) // count
        return [BatchOutput(line, raw[i * size : (i + 1) * size]) for i, line in enumerate(lines)]

    def close(self) -> None:
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)
        else:
            for path in (self.path, self.raw_path):
                path.unlink(missing_ok=True)


# Where the firmware's protocol layer keeps the input (templates/firmware/src/api/
# internally_implemented.cpp): the bytes, and how many of them `db` has filled so far.
INPUT_BUFFER = "(anonymous namespace)::g_buffer"
INPUT_COUNT = "(anonymous namespace)::g_buffer_count"


class InputBufferError(RuntimeError):
    """The ELF does not show where the firmware keeps its input."""


@dataclass(frozen=True)
class InputBuffer:
    address: int
    capacity: int
    count_address: int


def find_input_buffer(elf: Path) -> InputBuffer:
    """The input buffer's address and size, and its fill counter's address, from the ELF's symbols."""
    nm = shutil.which("arm-none-eabi-nm")
    if nm is None:
        raise InputBufferError("arm-none-eabi-nm not found on PATH (Debian package: binutils-arm-none-eabi)")
    proc = subprocess.run([nm, "-S", "-C", str(elf)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputBufferError(f"arm-none-eabi-nm -S -C {elf} failed: {proc.stderr.strip()}")
    sized = {}
    for line in proc.stdout.splitlines():
        fields = line.split(maxsplit=3)  # address size type name (the name may contain spaces)
        if len(fields) == 4 and fields[2] in "bBdD":
            sized[fields[3]] = (int(fields[0], 16), int(fields[1], 16))
    missing = [name for name in (INPUT_BUFFER, INPUT_COUNT) if name not in sized]
    if missing:
        raise InputBufferError(f"{elf}: no data symbol {', '.join(missing)}")
    (address, capacity), (count_address, count_size) = sized[INPUT_BUFFER], sized[INPUT_COUNT]
    if count_size != 4:
        raise InputBufferError(f"{elf}: {INPUT_COUNT} is {count_size} bytes, expected a 32-bit size_t")
    return InputBuffer(address, capacity, count_address)


class Monitor(Protocol):
    """Renode's monitor as a started target offers it (hil/targets/renode.py: MonitorClient)."""

    def execute(self, command: str) -> str: ...  # raises a RuntimeError when Renode refuses


class RenodeMonitorLoader:
    """Writes each input into the firmware's input buffer through Renode's monitor.

    The firmware is told the size with the standard `db load N` (which also clears its previous
    results); the bytes then go in with `sysbus LoadBinary` and the fill counter is set to N with
    `sysbus WriteDoubleWord`, exactly the state N bytes of `db` hex would leave. The firmware sits
    in its command loop meanwhile, and the monitor answers only after the write is done, so the
    next command (`infer`) sees the whole input.
    """

    name = "renode-monitor"

    def __init__(self, monitor: Monitor, elf: Path) -> None:
        self.monitor = monitor
        self.buffer = find_input_buffer(elf)
        # Not named renode-*: Renode deletes such folders in the temp dir it is given.
        self.directory = Path(tempfile.mkdtemp(prefix="tinyrig-in-"))
        self.path = self.directory / "input.bin"
        self._token = path_token(self.path)

    def load(self, dut: Dut, data: bytes) -> None:
        if not 0 < len(data) <= self.buffer.capacity:
            raise ValueError(f"an input of {len(data)} bytes does not fit the firmware's "
                             f"{self.buffer.capacity}-byte input buffer")
        command = f"db load {len(data)}"
        if not any(line.startswith("m-[Expecting") for line in dut.command(command)):
            raise DutError("expected a line starting 'm-[Expecting'", command, list(dut.recent))
        self.path.write_bytes(data)
        try:
            self.monitor.execute(f"sysbus LoadBinary {self._token} {self.buffer.address:#x}")
            self.monitor.execute(f"sysbus WriteDoubleWord {self.buffer.count_address:#x} {len(data)}")
        except RuntimeError as exc:  # the target's RenodeError: refused, or the monitor is gone
            raise DutError(f"writing the input through Renode's monitor failed: {exc}", command) from None

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def choose_loader(dut: Dut, target_kind: str, allow_fast: bool = True, run: object = None) -> Loader:
    """The fastest path the target allows; `run` is what target.start() returned (under Renode
    its `monitor` and `elf` carry the input)."""
    if allow_fast and target_kind == "qemu" and "load" in dut.capabilities():
        return SemihostLoader()
    monitor, elf = getattr(run, "monitor", None), getattr(run, "elf", None)
    if allow_fast and target_kind == "renode" and monitor is not None and elf is not None:
        try:
            return RenodeMonitorLoader(monitor, elf)
        except InputBufferError:
            return DbLoader()  # a firmware laid out otherwise still works over `db`
    return DbLoader()


def choose_batcher(dut: Dut, load: object, input_bytes: int, silence_s: float = 60.0) -> SemihostBatcher | None:
    """The batched accuracy path, where the run's loader (`load`, the bound method the runner hands
    a mode) is the semihosting one and the firmware announces `batch`; None elsewhere (Renode,
    hardware, `--no-fast-load`), where inputs go one by one."""
    loader = getattr(load, "__self__", None)
    if isinstance(loader, SemihostLoader) and "batch" in dut.capabilities():
        return SemihostBatcher(input_bytes, silence_s, directory=loader.directory)
    return None
