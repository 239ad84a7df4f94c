"""Find a board's console: the USB serial port its debug probe exposes (ST-LINK VCP, J-Link
CDC), by the USB VID:PID pairs in the board file and, when the probe is known, its serial number.

On ST-LINK and J-Link probes the virtual COM port is an interface of the probe itself, so the
port's USB serial number is the probe's unique ID (J-Link zero-pads it to 12 digits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from tinyrig.boards import Board
from tinyrig.hil.targets.base import TargetError


class PortError(TargetError):
    """No port, or more than one, matches the board."""


@dataclass(frozen=True)
class UsbId:
    vid: int
    pid: int

    def __str__(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"


def parse_usb_id(text: str) -> UsbId:
    """'0483:374b' -> UsbId(0x0483, 0x374b); anything else is a clear error."""
    try:
        vid, pid = text.strip().split(":")
        return UsbId(int(vid, 16), int(pid, 16))
    except ValueError:
        raise PortError(f"bad USB id {text!r}: expected VID:PID in hex, like 0483:374b") from None


def same_serial(a: str | None, b: str | None) -> bool:
    """Serial numbers compared the way probes report them: case-insensitive, leading zeros ignored
    (J-Link's CDC port says 000683012345 where pyOCD says 683012345)."""
    if not a or not b:
        return False
    return a.strip().lower().lstrip("0") == b.strip().lower().lstrip("0")


def _describe(port: Any) -> str:
    ids = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None and port.pid is not None else "no USB id"
    serial = f" serial {port.serial_number}" if port.serial_number else ""
    return f"{port.device} ({ids}{serial}; {port.description})"


def all_ports() -> list[Any]:
    from serial.tools import list_ports

    return list(list_ports.comports())


def matching_ports(usb_ids: Iterable[str], serial_number: str | None = None,
                   ports: Sequence[Any] | None = None) -> list[Any]:
    """The ports whose VID:PID is one of `usb_ids` (and, when given, whose serial is the probe's)."""
    wanted = {parse_usb_id(text) for text in usb_ids}
    found = []
    for port in all_ports() if ports is None else ports:
        if port.vid is None or port.pid is None or UsbId(port.vid, port.pid) not in wanted:
            continue
        if serial_number is not None and not same_serial(port.serial_number, serial_number):
            continue
        found.append(port)
    return sorted(found, key=lambda p: p.device)


def find_console_port(board: Board, probe_id: str | None = None, ports: Sequence[Any] | None = None) -> str:
    """The device path of `board`'s console port. With `probe_id`, only that probe's port counts;
    without it there must be exactly one port with one of the board's USB ids."""
    if not board.usb_ids:
        raise PortError(f"board {board.name} lists no usb_ids; pass the console port explicitly (--port)")
    ports = all_ports() if ports is None else list(ports)
    found = matching_ports(board.usb_ids, probe_id, ports)
    ids = ", ".join(board.usb_ids)
    if len(found) == 1:
        return found[0].device
    listing = "\n".join(f"    {_describe(p)}" for p in sorted(ports, key=lambda p: p.device)) or "    (none)"
    which = f" for probe {probe_id}" if probe_id else ""
    if not found:
        raise PortError(f"no serial port with USB id {ids}{which} ({board.name}); ports present:\n{listing}")
    raise PortError(f"{len(found)} serial ports with USB id {ids}{which} ({board.name}); choose one with --port "
                    f"or name the probe:\n" + "\n".join(f"    {_describe(p)}" for p in found))
