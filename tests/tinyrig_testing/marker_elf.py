"""A minimal Cortex-M ELF with sized board_pin_mark/board_pin_pulse symbols: enough for
RenodeTarget.start() (it looks up the marker function) and for a real Renode to load and run."""

from __future__ import annotations

import subprocess
from pathlib import Path

MARKER_C = """
volatile unsigned pin;
void board_pin_mark(void) { pin = 1u; }
void board_pin_pulse(void) { pin = 0u; pin = 1u; }
void Reset_Handler(void) { board_pin_mark(); board_pin_pulse(); for (;;) {} }
"""


def build_marker_elf(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    src = out / "marker.c"
    src.write_text(MARKER_C)
    elf = out / "marker.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-O1", "-nostdlib", "-Wl,-e,Reset_Handler",
                    "-Wl,-Ttext=0x08000000", str(src), "-o", str(elf)], check=True, capture_output=True)
    return elf
