"""Reading the timestamp-pin log that tinyrig's Renode hook writes (one line per pin-register write)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyrig.hil.targets.processes import LineTail
from tinyrig.renode.scripts import RenodeScriptError


@dataclass(frozen=True)
class PinEvent:
    """One write to the timestamp pin's register, as the hook logged it."""

    instructions: int  # instructions the CPU had executed when the write happened
    level: int  # the pin level the write sets (0 or 1)
    pc: int
    virtual_s: float  # the machine's virtual time (advances in sync quanta; see docs/renode.md)


def parse_pin_line(line: str) -> PinEvent:
    fields = line.split()
    if len(fields) != 4:
        raise ValueError(f"expected 4 fields, got {len(fields)}")
    level = int(fields[1])
    if level not in (0, 1):
        raise ValueError(f"level {level} is not 0 or 1")
    return PinEvent(int(fields[0]), level, int(fields[2], 16), float(fields[3]))


class PinLog:
    """Tails the hook's log file, returning only events not returned before.

    Renode may be mid-way through a line when we read, so an unterminated last line waits for its
    newline. A file that does not exist yet reads as empty (no write has happened).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._tail = LineTail(self.path)

    def read_new(self) -> list[PinEvent]:
        lines = self._tail.read_new_lines()
        events = []
        for raw in lines:
            if not raw.strip():
                continue
            try:
                events.append(parse_pin_line(raw.decode("ascii")))
            except (ValueError, UnicodeDecodeError) as exc:
                raise RenodeScriptError(f"{self.path}: malformed pin-log line {raw!r}: {exc}") from None
        return events


def edges(events: list[PinEvent], level: int) -> list[PinEvent]:
    """The writes that changed the pin (a write of the current level is a marker, not an edge)."""
    changed = []
    for event in events:
        if event.level != level:
            changed.append(event)
            level = event.level
    return changed
