"""Runs a board's rendered drivers on the host against a register file, and checks every access
against a CMSIS-SVD device description.

The rendered clock.c, uart.c and timestamp_pin.c are compiled unchanged (as C++) with a stand-in
board.h whose REG32() is a proxy logging every read and write into a register file that starts at
the SVD's reset values. Waits on hardware flags go through board_wait_bits(), which the stand-in
answers the way the hardware eventually would (the awaited bits take the awaited value). Then
every address must be a register of the SVD, every bit a write changes must be a writable field,
and every bit a wait looks at must be a field.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

# The Arm core's private peripheral bus (SCB, DWT, SysTick): not in vendor SVDs.
PPB = range(0xE0000000, 0xE0100000)


@dataclass
class Register:
    name: str
    address: int
    reset: int
    readable: int = 0  # bits of fields that can be read
    writable: int = 0  # bits of fields that can be written
    fields: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (offset, width)


def _number(text: str) -> int:
    """SVD numbers: 0x.., #binary, or decimal that may carry leading zeros."""
    text = text.strip()
    if text.startswith("#"):
        return int(text[1:], 2)
    return int(text, 16) if text.lower().startswith("0x") else int(text, 10)


def _field_bits(fld) -> tuple[int, int]:
    if fld.findtext("bitOffset") is not None:
        return _number(fld.findtext("bitOffset")), _number(fld.findtext("bitWidth"))
    if fld.findtext("lsb") is not None:
        low, high = _number(fld.findtext("lsb")), _number(fld.findtext("msb"))
        return low, high - low + 1
    high, low = fld.findtext("bitRange").strip("[]").split(":")
    return int(low), int(high) - int(low) + 1


def _collect(node, base: int, prefix: str, access: str, out: dict[int, "Register"]) -> None:
    """Registers under a <registers> or <cluster> node (clusters nest: the nRF52's PSEL.TXD)."""
    if node is None:
        return
    for child in node:
        if child.tag == "cluster":
            offset = base + _number(child.findtext("addressOffset"))
            _collect(child, offset, f"{prefix}.{child.findtext('name')}", access, out)
        elif child.tag == "register":
            # A register array (the nRF52's PIN_CNF[n]) is dim copies, dimIncrement bytes apart.
            count = _number(child.findtext("dim")) if child.findtext("dim") is not None else 1
            step = _number(child.findtext("dimIncrement")) if count > 1 else 0
            for index in range(count):
                name = child.findtext("name").replace("[%s]", f"[{index}]").replace("%s", str(index))
                address = base + _number(child.findtext("addressOffset")) + index * step
                _add_register(child, f"{prefix}.{name}", address, access, out)


def _add_register(child, name: str, address: int, access: str, out: dict[int, "Register"]) -> None:
    entry = Register(name, address, _number(child.findtext("resetValue") or "0"))
    reg_access = child.findtext("access") or access
    for fld in child.iter("field"):
        offset, width = _field_bits(fld)
        mask = ((1 << width) - 1) << offset
        field_access = fld.findtext("access") or reg_access
        if "read" in field_access:
            entry.readable |= mask
        if "write" in field_access.replace("read-only", ""):
            entry.writable |= mask
        entry.fields[fld.findtext("name")] = (offset, width)
    out.setdefault(address, entry)


def load_pyocd_svd(name: str) -> dict[int, Register]:
    """Registers by address from one of the SVD files pyOCD ships (debug/svd/svd_data.zip)."""
    data = resources.files("pyocd").joinpath("debug/svd/svd_data.zip")
    with data.open("rb") as stream, zipfile.ZipFile(stream) as archive, archive.open(name) as svd:
        root = ET.parse(svd).getroot()
    peripherals = {p.findtext("name"): p for p in root.iter("peripheral")}
    registers: dict[int, Register] = {}
    for name_, periph in peripherals.items():
        base = _number(periph.findtext("baseAddress"))
        source = peripherals.get(periph.get("derivedFrom"), periph)
        access = source.findtext("access") or "read-write"
        _collect(source.find("registers"), base, name_, access, registers)
    return registers


HARNESS_H = r"""
#ifndef TINYRIG_BOARD_H
#define TINYRIG_BOARD_H
#include <stdint.h>
#include <stddef.h>
struct SimReg {
    uint32_t addr;
    operator uint32_t() const;
    SimReg &operator=(uint32_t v);
    SimReg &operator=(const SimReg &other) { return *this = (uint32_t)other; } /* REG32(a) = REG32(a): a read, then a write */
    SimReg &operator|=(uint32_t v) { return *this = (uint32_t)*this | v; }
    SimReg &operator&=(uint32_t v) { return *this = (uint32_t)*this & v; }
};
SimReg sim_reg(uint32_t addr);
#define REG32(addr) (sim_reg((uint32_t)(uintptr_t)(addr)))
#define TINYRIG_CPU_HZ @CPU_HZ@u
#define TINYRIG_TIMER_HZ @CPU_HZ@u
#define TINYRIG_EMULATED 0
#define SCB_CPACR REG32(0xE000ED88u)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
void board_clock_init(void);
void board_uart_init(uint32_t baud);
void board_uart_putc(char c);
int board_uart_getc(void);
void board_pin_init(void);
void board_pin_pulse(void);
void board_pin_mark(void);
void board_fatal(const char *why);
void board_exit(int code);
void board_uart_puts_raw(const char *s);
#endif
"""

HARNESS_CPP = r"""
#include <cstdio>
#include <cstdlib>
#include <map>
#include "board.h"
#include "board_faults.h"

static std::map<uint32_t, uint32_t> g_mem;
static const uint32_t g_resets[][2] = {
@RESETS@
};
SimReg sim_reg(uint32_t addr) { return SimReg{addr}; }
SimReg::operator uint32_t() const {
    std::printf("R %08x\n", addr);
    return g_mem[addr];
}
SimReg &SimReg::operator=(uint32_t v) {
    std::printf("W %08x %08x %08x\n", addr, g_mem[addr], v);
    g_mem[addr] = v;
    return *this;
}
extern "C" int board_wait_bits(uint32_t address, uint32_t mask, uint32_t want) {
    std::printf("P %08x %08x %08x\n", address, mask, want);
    g_mem[address] = (g_mem[address] & ~mask) | want; /* the hardware eventually does it */
    return 1;
}
extern "C" void board_faults_clear(void) {}
extern "C" void board_faults_report(void) {}
extern "C" void board_fault(const char *what) { std::printf("FAULT %s\n", what); std::exit(3); }
void board_uart_puts_raw(const char *s) { while (*s) board_uart_putc(*s++); }
void board_fatal(const char *why) { std::printf("FATAL %s\n", why); std::exit(3); }
void board_exit(int code) { std::exit(code); }
extern void (*const g_vector_table[16])(void);
void (*const g_vector_table[16])(void) = {}; /* C++: const needs the extern above to be seen by clock.c */

int main() {
    for (const auto &r : g_resets) g_mem[r[0]] = r[1];
    std::printf("# clock\n");
    board_clock_init();
    std::printf("# uart\n");
    board_uart_init(115200u);
    board_uart_putc('m');
    (void)board_uart_getc();
    std::printf("# pin\n");
    board_pin_init();
    board_pin_pulse();
    return 0;
}
"""


@dataclass
class Access:
    kind: str  # R read, W write, P poll (a bounded wait)
    address: int
    old: int = 0
    new: int = 0  # W: the value written; P: the awaited value
    mask: int = 0  # P: the bits waited on


def run_drivers(sources: dict[str, str], registers: dict[int, Register], cpu_hz: int, workdir: Path) -> list[Access]:
    """Compiles the rendered drivers with the harness and returns every register access, in order."""
    for rel in ("src/clock.c", "src/uart.c", "src/timestamp_pin.c", "src/board_faults.h"):
        (workdir / Path(rel).name).write_text(sources[rel])
    (workdir / "board.h").write_text(HARNESS_H.replace("@CPU_HZ@", str(cpu_hz)))
    resets = ",\n".join(f"    {{0x{a:08X}u, 0x{r.reset:08X}u}}" for a, r in sorted(registers.items()))
    (workdir / "harness.cpp").write_text(HARNESS_CPP.replace("@RESETS@", resets))
    exe = workdir / "drivers"
    command = ["g++", "-std=c++17", "-x", "c++", "-Wall", "-Wextra", "-Werror", "-Wno-volatile", "-I", str(workdir),
               "clock.c", "uart.c", "timestamp_pin.c", "harness.cpp", "-o", str(exe)]
    built = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    if built.returncode:
        raise AssertionError(f"the rendered drivers do not compile on the host:\n{built.stderr}")
    ran = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    if ran.returncode:
        raise AssertionError(f"the drivers stopped ({ran.returncode}):\n{ran.stdout[-2000:]}")
    accesses = []
    for line in ran.stdout.splitlines():
        parts = line.split()
        if parts[0] == "R":
            accesses.append(Access("R", int(parts[1], 16)))
        elif parts[0] == "W":
            accesses.append(Access("W", int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)))
        elif parts[0] == "P":
            accesses.append(Access("P", int(parts[1], 16), new=int(parts[3], 16), mask=int(parts[2], 16)))
    return accesses


def check_against_svd(accesses: list[Access], registers: dict[int, Register],
                      reserved_may_be_cleared: bool = False) -> list[str]:
    """Every access that the SVD says is wrong, one line each.

    ST's manuals say reserved bits "must be kept at reset value": any change outside a writable field
    is an error. Nordic's drivers write PSEL registers whole (the reserved bits, 1 at reset, become 0),
    so with `reserved_may_be_cleared` only setting a reserved bit counts."""
    problems = []
    for acc in accesses:
        if acc.address in PPB:
            continue
        reg = registers.get(acc.address)
        if reg is None:
            problems.append(f"{acc.kind} 0x{acc.address:08X}: no register at this address")
            continue
        if acc.kind == "W":
            changed = acc.old ^ acc.new
            if reserved_may_be_cleared:
                in_fields = reg.readable | reg.writable
                changed = (changed & in_fields) | (changed & acc.new & ~in_fields)
            stray = changed & ~reg.writable
            if stray:
                problems.append(f"W {reg.name} 0x{acc.address:08X}: changes bits 0x{stray:08X} outside its writable fields")
        elif acc.kind == "P":
            stray = acc.mask & ~reg.readable
            if stray:
                problems.append(f"P {reg.name} 0x{acc.address:08X}: waits on bits 0x{stray:08X} that are no readable field")
    return problems


def final_field(accesses: list[Access], registers: dict[int, Register], register: str, name: str) -> int:
    """The value a field was last written with (the register file after the drivers ran)."""
    reg = next(r for r in registers.values() if r.name == register)
    value = reg.reset
    for acc in accesses:
        if acc.address == reg.address and acc.kind == "W":
            value = acc.new
        elif acc.address == reg.address and acc.kind == "P":
            value = (value & ~acc.mask) | acc.new
    offset, width = reg.fields[name]
    return (value >> offset) & ((1 << width) - 1)
