"""Streaming wakeword pin activity under QEMU, placed in virtual time.

tinyrig's QEMU plugin logs every store to the streaming pins' registers with the number of
instructions executed so far and the storing PC (hil/pinwatch.py). The PC says which edge it
was: each edge has a firmware function of its own (templates/firmware/drivers/stream_pins.c.j2).

Instruction counts are not virtual time on their own: between audio hops the firmware sleeps
in WFI, and QEMU (-icount, sleep=off) moves virtual time straight to the next timer event
without executing anything. So the firmware marks every tick of its emulated audio clock
(one per hop, from the timer interrupt): tick k happens at exactly k hops of audio time, and
from a tick to the next sleep every instruction takes 2^shift ns. Each pin edge is therefore
at  k x hop + (its count - tick k's count) x 2^shift  ns, with k the last tick before it.
Processing never sleeps, so every edge has such a tick; the times are integers and the same in
every run. Edges before tick 0 (the firmware's start-of-stream pulse) have no audio time and
are left out, as they precede the audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tinyrig.hil.targets.pinwatch import MarkerStore, symbol_range

# Firmware functions (stream_pins.c.j2, timestamp_pin.c) -> what their stores mean.
AUDIO_TICK = "board_audio_clock_mark"
DETECTION = "board_detect_pin_pulse"
PROCESSING_HIGH = "board_processing_pin_high"
PROCESSING_LOW = "board_processing_pin_low"
END_OF_AUDIO = "board_pin_mark"  # the firmware's "audio ran out" mark (no timed windows while streaming)
FUNCTIONS = (AUDIO_TICK, DETECTION, PROCESSING_HIGH, PROCESSING_LOW, END_OF_AUDIO)


class TimelineError(RuntimeError):
    """The pin log does not read as a stream (edges out of order, no audio clock)."""


@dataclass(frozen=True)
class PinFunctions:
    """[lo, hi) address range of each pin function in one firmware image."""

    ranges: dict[str, tuple[int, int]]

    @classmethod
    def from_elf(cls, elf: Path) -> "PinFunctions":
        return cls({name: symbol_range(elf, name) for name in FUNCTIONS})

    def classify(self, pc: int) -> str | None:
        for name, (lo, hi) in self.ranges.items():
            if lo <= pc < hi:
                return name
        return None


@dataclass
class StreamTimeline:
    ticks: int = 0  # audio clock ticks seen (tick k is audio time k hops)
    detections_ns: list[int] = field(default_factory=list)  # leading edge of each detection pulse
    processing_starts_ns: list[int] = field(default_factory=list)
    processing_stops_ns: list[int] = field(default_factory=list)
    ended: bool = False  # the firmware marked the end of the audio


def build_timeline(stores: list[MarkerStore], functions: PinFunctions, hop_ns: int,
                   ns_per_instruction: int) -> StreamTimeline:
    """Pin stores of one stream (in log order) -> edge times in ns since audio time 0."""
    timeline = StreamTimeline()
    tick_count: int | None = None  # instructions at the last tick
    detect_stores = 0
    for store in stores:
        kind = functions.classify(store.pc)
        if kind == AUDIO_TICK:
            tick_count = store.instructions
            timeline.ticks += 1
            continue
        if kind == END_OF_AUDIO and timeline.ticks:
            timeline.ended = True
            continue
        if kind not in (DETECTION, PROCESSING_HIGH, PROCESSING_LOW) or tick_count is None:
            continue  # boot-time pin set-up, or the start-of-stream pulse before the audio clock
        if store.instructions < tick_count:
            raise TimelineError(f"pin store at instruction {store.instructions} precedes the audio tick at {tick_count}")
        at = (timeline.ticks - 1) * hop_ns + (store.instructions - tick_count) * ns_per_instruction
        if kind == DETECTION:
            if detect_stores % 2 == 0:  # a pulse is two stores: leave the idle level, return to it
                timeline.detections_ns.append(at)
            detect_stores += 1
        elif kind == PROCESSING_HIGH:
            timeline.processing_starts_ns.append(at)
        else:
            timeline.processing_stops_ns.append(at)
    if len(timeline.processing_starts_ns) - len(timeline.processing_stops_ns) not in (0, 1):
        raise TimelineError(f"{len(timeline.processing_starts_ns)} processing starts but "
                            f"{len(timeline.processing_stops_ns)} stops")
    return timeline
