"""The drivers a board file may name: exactly the templates present in templates/firmware/drivers/.

A driver is a template `<kind>_<name>.c.j2` (kind: clock, uart, timer, pin). The schema offers these
names and nothing else, so a board can never name a driver that has no template. What each UART
driver can do with the console fields is declared here; tests/boards/test_drivers.py keeps this
table and the templates in step.
"""

from __future__ import annotations

import functools
from pathlib import Path

DRIVER_KINDS = ("clock", "uart", "timer", "pin")


def drivers_dir() -> Path:
    # Installed, the templates are the package tinyrig.templates; in a source tree, templates/.
    from tinyrig import templates

    return Path(templates.__file__).resolve().parent / "firmware" / "drivers"


@functools.cache
def available(kind: str) -> tuple[str, ...]:
    """Driver names of one kind, from the template files (sorted)."""
    prefix = f"{kind}_"
    return tuple(sorted(p.name[len(prefix):-len(".c.j2")] for p in drivers_dir().glob(f"{prefix}*.c.j2")))


# UART drivers: which family UART kinds each one drives, and whether it routes console.tx_pin /
# rx_pin (and an alternate function) itself. A field a driver cannot use is rejected, not ignored.
UART_KINDS = {
    "cmsdk-uart": ("",),            # emulated FPGA UART: no family table
    "stm32-usart": ("usart-v1",),
    "stm32-usart-v2": ("usart", "lpuart"),
    "nrf-uart": ("nrf-uart",),
}
UART_ROUTES_PINS = {"cmsdk-uart": False, "stm32-usart": True, "stm32-usart-v2": True, "nrf-uart": True}
UART_USES_ALTERNATE_FUNCTION = {"cmsdk-uart": False, "stm32-usart": True, "stm32-usart-v2": True, "nrf-uart": False}

# Drivers whose waits on hardware flags go through the bounded wait and fault record in
# src/board_faults.c (rendered only for boards that use one of them).
USES_FAULT_RECORD = {
    ("clock", "stm32l4"), ("clock", "stm32l4plus"), ("clock", "stm32l5"), ("clock", "stm32u5"),
    ("clock", "stm32h7a3"), ("clock", "nrf52"),
    ("uart", "stm32-usart-v2"), ("uart", "nrf-uart"),
}


def uses_fault_record(board) -> bool:
    """Whether the board's drivers wait on hardware flags through src/board_faults.c."""
    chosen = {("clock", board.clock_driver), ("uart", board.console.driver)}
    # The SR/DR USART keeps its plain TX wait under emulation (the emulated images stay as they were);
    # on silicon it waits through the bounded wait too.
    return bool(chosen & USES_FAULT_RECORD) or (board.console.driver == "stm32-usart" and not board.is_emulated)
