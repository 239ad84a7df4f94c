"""Program a board through a debug probe with pyOCD's Python API: choose the probe, write the
ELF, read every loaded byte back, reset.

pyOCD is the optional extra `hardware` (`pip install tinyrig[hardware]`); it is imported only
when a probe is actually used, so everything else in tinyrig works without it.

The STM32 targets come from CMSIS device packs, which pyOCD keeps in its own cache: install one
once per machine with `pyocd pack install <pyocd_target>` (it needs the internet that once).
The nRF52840 is built into pyOCD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from tinyrig.boards import Board
from tinyrig.hil.targets.base import TargetError

# Read-back granularity: large enough to be quick over SWD, small enough for any probe's buffer.
VERIFY_CHUNK = 4096


class FlashError(TargetError):
    """No probe, an ambiguous probe, a missing target pack, or an image that did not verify."""


@dataclass(frozen=True)
class ProbeInfo:
    """What identifies an attached probe to a person choosing one."""

    unique_id: str
    description: str

    def __str__(self) -> str:
        return f"{self.unique_id} ({self.description})"


@dataclass(frozen=True)
class Segment:
    """One loadable part of an ELF: where it goes in the target's memory and its bytes."""

    address: int
    data: bytes

    @property
    def end(self) -> int:
        return self.address + len(self.data)


@dataclass
class FlashResult:
    probe: ProbeInfo
    target: str
    elf: Path
    segments: list[Segment] = field(repr=False, default_factory=list)

    @property
    def bytes_written(self) -> int:
        return sum(len(s.data) for s in self.segments)


def _require_pyocd():
    try:
        import pyocd  # noqa: F401
    except ImportError:
        raise FlashError("pyOCD is not installed: pip install 'tinyrig[hardware]' (or pip install pyocd)") from None


def _probe_info(probe: Any) -> ProbeInfo:
    return ProbeInfo(unique_id=str(probe.unique_id), description=str(probe.description))


def connected_probes() -> list[Any]:
    """Every debug probe pyOCD can see right now (CMSIS-DAP, ST-LINK, J-Link, ...), never waiting."""
    _require_pyocd()
    from pyocd.core.helpers import ConnectHelper

    return list(ConnectHelper.get_all_connected_probes(blocking=False, print_wait_message=False))


def _listing(probes: Sequence[Any]) -> str:
    return "\n".join(f"    {_probe_info(p)}" for p in probes)


def choose_probe(probes: Sequence[Any], unique_id: str | None = None) -> Any:
    """The probe to use: the one whose unique ID is `unique_id` (exactly, or else the only one
    containing it), or the only probe attached when no ID is given. Anything else is an error
    that lists what is attached."""
    probes = list(probes)
    if unique_id is None:
        if len(probes) == 1:
            return probes[0]
        if not probes:
            raise FlashError("no debug probe attached (pyOCD sees none): connect the board's USB debug port, "
                             "and on Linux check the probe's udev rules")
        raise FlashError(f"{len(probes)} debug probes attached; choose one by unique ID (--probe):\n"
                         + _listing(probes))
    wanted = unique_id.strip().lower()
    exact = [p for p in probes if str(p.unique_id).lower() == wanted]
    if len(exact) == 1:
        return exact[0]
    partial = [p for p in probes if wanted in str(p.unique_id).lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        attached = ("attached:\n" + _listing(probes)) if probes else "no probe is attached"
        raise FlashError(f"no debug probe with unique ID '{unique_id}'; {attached}")
    raise FlashError(f"{len(partial)} debug probes match unique ID '{unique_id}'; give more of it:\n"
                     + _listing(partial))


def target_available(target: str) -> bool:
    """Whether pyOCD can drive `target`: built in, or from an installed CMSIS pack."""
    _require_pyocd()
    from pyocd.target import TARGET

    if target.lower() in TARGET:
        return True
    try:
        from pyocd.target.pack.pack_target import ManagedPacks

        return any(dev.part_number.lower() == target.lower() for dev in ManagedPacks.get_installed_targets())
    except Exception:  # a broken pack index must not hide the real answer: the target is missing
        return False


def load_segments(elf: Path) -> list[Segment]:
    """The bytes a programmer writes: each PT_LOAD segment's file contents at its load (physical)
    address, so initialised .data is checked where it lives in flash."""
    from elftools.elf.elffile import ELFFile

    segments = []
    with open(elf, "rb") as handle:
        for segment in ELFFile(handle).iter_segments():
            if segment["p_type"] != "PT_LOAD" or segment["p_filesz"] == 0:
                continue
            segments.append(Segment(address=segment["p_paddr"], data=segment.data()[: segment["p_filesz"]]))
    if not segments:
        raise FlashError(f"{elf}: no loadable segments (is it an ELF image for the target?)")
    return segments


def check_segments_fit(board: Board, segments: Sequence[Segment]) -> None:
    """Every loaded byte must land in the board's flash: anything else means the image was linked
    for another board."""
    for seg in segments:
        if seg.address < board.flash.base or seg.end > board.flash.end:
            raise FlashError(
                f"image segment 0x{seg.address:08X}..0x{seg.end:08X} lies outside {board.name}'s flash "
                f"0x{board.flash.base:08X}..0x{board.flash.end:08X}: was the image built for this board?")


def verify_segments(read_memory: Callable[[int, int], Sequence[int]], segments: Sequence[Segment],
                    chunk: int = VERIFY_CHUNK) -> None:
    """Reads every segment back through `read_memory(address, length)` and compares; raises on
    the first difference, naming its address and both values."""
    for seg in segments:
        for offset in range(0, len(seg.data), chunk):
            expected = seg.data[offset:offset + chunk]
            actual = bytes(read_memory(seg.address + offset, len(expected)))
            if actual != expected:
                at = next(i for i in range(len(expected)) if i >= len(actual) or actual[i] != expected[i])
                got = f"0x{actual[at]:02X}" if at < len(actual) else "nothing"
                raise FlashError(f"verify failed at 0x{seg.address + offset + at:08X}: wrote 0x{expected[at]:02X}, "
                                 f"read back {got}")


def flash_elf(board: Board, elf: Path, probe_id: str | None = None, *, verify: bool = True,
              reset: bool = True, frequency_hz: int | None = None) -> FlashResult:
    """Programs `elf` into `board` through the chosen probe, verifies it, and resets it so it runs."""
    elf = Path(elf)
    if not elf.is_file():
        raise FlashError(f"firmware not found: {elf}")
    if not board.pyocd_target:
        raise FlashError(f"board {board.name} names no pyOCD target (pyocd_target in {board.path})")
    segments = load_segments(elf)
    check_segments_fit(board, segments)
    _require_pyocd()
    if not target_available(board.pyocd_target):
        raise FlashError(f"pyOCD has no target '{board.pyocd_target}': install its device pack once with "
                         f"`pyocd pack install {board.pyocd_target}`")
    from pyocd.core.session import Session
    from pyocd.flash.file_programmer import FileProgrammer

    probe = choose_probe(connected_probes(), probe_id)
    info = _probe_info(probe)
    options: dict[str, Any] = {"target_override": board.pyocd_target}
    if frequency_hz:
        options["frequency"] = frequency_hz
    try:
        with Session(probe, options=options) as session:
            # Program with the core left halted, so the read-back sees a quiet target.
            FileProgrammer(session, no_reset=True).program(str(elf), file_format="elf")
            target = session.target
            if verify:
                target.halt()
                verify_segments(target.read_memory_block8, segments)
            if reset:
                target.reset()  # system reset; the core runs the new image
    except FlashError:
        raise
    except Exception as exc:  # pyOCD raises its own exception tree (probe, transfer, flash errors)
        raise FlashError(f"pyOCD failed on probe {info} ({board.pyocd_target}): {type(exc).__name__}: {exc}") from exc
    return FlashResult(probe=info, target=board.pyocd_target, elf=elf, segments=segments)
