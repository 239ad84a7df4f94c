"""The CPU each Cortex-M machine of qemu-system-arm emulates, so a board file whose
`emulator.qemu_machine` cannot run its `core` is refused when it loads instead of being built and
then crashing QEMU (an M33 image on mps2-an386 died with signal 6 and only "connection lost").

Source: `qemu-system-arm -machine help` of QEMU 7.2 (Debian 12), each machine's description, e.g.
"mps2-an386  ARM MPS2 with AN386 FPGA image for Cortex-M4". The dual-core boards run two of the
same core. A machine not listed here (a newer QEMU's) is not judged: QEMU says so when it starts.
"""

from __future__ import annotations

MACHINE_CORES = {
    "mps2-an385": "cortex-m3",
    "mps2-an386": "cortex-m4",
    "mps2-an500": "cortex-m7",
    "mps2-an505": "cortex-m33",
    "mps2-an511": "cortex-m3",
    "mps2-an521": "cortex-m33",
    "mps3-an524": "cortex-m33",
    "mps3-an547": "cortex-m55",
    "musca-a": "cortex-m33",
    "musca-b1": "cortex-m33",
    "netduino2": "cortex-m3",
    "netduinoplus2": "cortex-m4",
    "stm32vldiscovery": "cortex-m3",
    "lm3s6965evb": "cortex-m3",
    "lm3s811evb": "cortex-m3",
    "microbit": "cortex-m0",
}


def machines_for(core: str) -> list[str]:
    return [machine for machine, cpu in MACHINE_CORES.items() if cpu == core]
