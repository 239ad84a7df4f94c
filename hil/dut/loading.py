"""How an input reaches the DUT: the standard `db` commands, or tinyrig's fast path in emulation.

Sending a 27 KB input as hex over QEMU's UART takes seconds (QEMU delivers one character at a
time). When the firmware announces `load` in `tinyrig caps` and the target runs on this host,
the input is written to a file and the firmware reads it with semihosting instead. The `db`
path stays the default everywhere else and is what hardware always uses.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from tinyrig.hil.dut.client import Dut

# The whole command must fit the protocol's 80 characters: "tinyrig load " + the path.
MAX_PATH_CHARS = 80 - len("tinyrig load ")
# The firmware reads only files that begin with this header (and only in the folder of its first
# load): whoever else reaches the console cannot make it read the host's files.
INPUT_MAGIC = b"TRIN"


def input_file_bytes(data: bytes) -> bytes:
    """An input as the firmware's `tinyrig load` reads it: magic, byte count (uint32 LE), bytes."""
    return INPUT_MAGIC + len(data).to_bytes(4, "little") + data


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


def choose_loader(dut: Dut, target_kind: str, allow_fast: bool = True) -> Loader:
    if allow_fast and target_kind == "qemu" and "load" in dut.capabilities():
        return SemihostLoader()
    return DbLoader()
