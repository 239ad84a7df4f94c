"""A board's values checked against its chip family's data, before anything is rendered or built.

The schema (boards/schema.py) knows what a field may look like; these checks know what the part
allows: its clock limit and what its clock driver can set, its UART and GPIO register bases, the
pin/alternate-function pairs of its console UARTs, which fields a driver can actually use. Each
failure is one BoardError line: file, field, value, what the part allows (and the manual it says so).
"""

from __future__ import annotations

import dataclasses
import re

from . import drivers
from .clocks import ClockPlanError, plan_clock
from .families import Family, Gpio, Uart, load_family
from .qemu_machines import MACHINE_CORES, machines_for
from .schema import Board, BoardError, BoardFile, ConsolePort, PinMux


class _Fail(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(field, message)
        self.field, self.message = field, message


def _hex(value: int) -> str:
    return f"0x{value:08X}"


def parse_stm32_pin(name: str, gpio: Gpio) -> tuple[str, int] | None:
    match = re.fullmatch(r"P([A-K])(\d{1,2})", name)
    if not match or match.group(1) not in gpio.ports or int(match.group(2)) >= gpio.pins_on(match.group(1)):
        return None
    return match.group(1), int(match.group(2))


def parse_nrf_pin(name: str, gpio: Gpio) -> tuple[str, int] | None:
    match = re.fullmatch(r"P(\d)\.(\d{1,2})", name)
    if not match or match.group(1) not in gpio.ports or int(match.group(2)) >= gpio.pins_on(match.group(1)):
        return None
    return match.group(1), int(match.group(2))


def _check_core(board: Board, family: Family) -> None:
    if board.core not in family.cores:
        raise _Fail("core", f"is {board.core!r}; the {family.name} family has: {', '.join(family.cores)}")
    target = board.pyocd_target.lower()
    if target and family.parts and not target.startswith(family.parts):
        raise _Fail("pyocd_target", f"is {board.pyocd_target!r}, not a {family.name} part "
                                    f"(those start {', '.join(family.parts)}): is 'family' right?")


def _check_emulator(board: Board) -> None:
    """The QEMU machine emulates the board's core: the image is built for `core` (gcc -mcpu, the
    kernels), and another CPU would fault on its first instruction of the wrong architecture."""
    machine, cpu = board.emulator.qemu_machine, board.emulator.qemu_cpu
    if cpu and cpu != board.core:
        raise _Fail("emulator.qemu_cpu", f"is {cpu!r}; the firmware is built for the board's core, {board.core}")
    emulated = MACHINE_CORES.get(machine)
    if emulated and emulated != board.core:
        fits = machines_for(board.core)
        raise _Fail("emulator.qemu_machine",
                    f"is {machine!r}, which emulates a {emulated}; the board's core is {board.core} "
                    f"(QEMU machines with a {board.core}: {', '.join(fits) if fits else 'none'})")


def _check_clock(board: Board, family: Family):
    try:
        plan = plan_clock(family, board.clock_driver, board.clock_hz, board.is_emulated)
    except ClockPlanError as exc:
        raise _Fail(exc.field, str(exc)) from None
    if board.timer.hz != board.clock_hz:
        raise _Fail("timer.hz", f"is {board.timer.hz}; both timer drivers count core cycles, so it must equal "
                                f"clock_hz ({board.clock_hz})")
    return plan


def _check_timing(board: Board, plan) -> None:
    """[timing]'s wait states are those the clock driver programs at clock_hz: the cycle model's
    prediction for the part is only as good as that number, and the family file already knows it."""
    timing = board.timing
    if timing is None or board.is_emulated or plan.range is None or board.clock_driver == "none":
        return
    if timing.flash_wait_states != plan.wait_states:
        raise _Fail("timing.flash_wait_states",
                    f"is {timing.flash_wait_states}; at {board.clock_hz} Hz the {board.clock_driver} clock driver "
                    f"programs {plan.wait_states} ({plan.range.source})")


def _pin(board: Board, family: Family, uart_name: str, uart: Uart, which: str) -> PinMux | None:
    field = f"console.{which}_pin"
    name = getattr(board.console, f"{which}_pin")
    if not name:
        return None
    gpio = family.gpio
    if uart.kind == "nrf-uart":
        parsed = parse_nrf_pin(name, gpio) if gpio else None
        if parsed is None:
            raise _Fail(field, f"is {name!r}; an nRF52840 pin is P0.00..P0.31 or P1.00..P1.15")
        return PinMux(name, parsed[0], gpio.ports.index(parsed[0]), parsed[1], 0)
    table = getattr(uart, which)
    if name not in table:
        pairs = ", ".join(f"{pin} (AF{af})" for pin, af in table.items())
        raise _Fail(field, f"is {name!r}; {uart_name} {which.upper()} on the {family.name} family is one of: "
                           f"{pairs} ({uart.source})")
    port, pin = parse_stm32_pin(name, gpio)
    return PinMux(name, port, gpio.ports.index(port), pin, table[name])


def _kernel_hz(board: Board, family: Family, plan, source: str) -> int:
    return {"pclk": plan.apb_hz, "sysclk": board.clock_hz, "hsi": plan.hsi_hz}[source]


def _check_baud(board: Board, uart: Uart, kernel_hz: int) -> None:
    for field, baud in (("console.baud", board.console.baud), ("console.energy_baud", board.console.energy_baud)):
        if uart.kind == "lpuart":
            brr, low, high, what = (256 * kernel_hz + baud // 2) // baud, 0x300, 0xFFFFF, "256 x f_ck / baud"
        elif uart.kind in ("usart", "usart-v1"):
            brr, low, high, what = (kernel_hz + baud // 2) // baud, 16, 0xFFFF, "f_ck / baud"
        else:
            return
        if not low <= brr <= high:
            raise _Fail(field, f"is {baud}; with a {kernel_hz} Hz kernel clock the baud register ({what} = {brr}) "
                               f"would leave its range {low}..{high}")


def _check_console(board: Board, family: Family, plan) -> tuple[ConsolePort | None, int]:
    """The resolved console and its kernel clock in Hz."""
    con, drv = board.console, board.console.driver
    routes = drivers.UART_ROUTES_PINS.get(drv, False)
    if not routes:
        for which in ("tx_pin", "rx_pin"):
            if getattr(con, which):
                raise _Fail(f"console.{which}", f"is {getattr(con, which)!r}, but the {drv} driver routes no pins; "
                                                "remove the field")
    if con.alternate_function and not drivers.UART_USES_ALTERNATE_FUNCTION.get(drv, False):
        raise _Fail("console.alternate_function", f"is {con.alternate_function}, but the {drv} driver has no "
                                                  "alternate functions; remove the field")
    if not family.uarts:
        if con.kernel_clock != "pclk":
            raise _Fail("console.kernel_clock", f"is {con.kernel_clock!r}; the {family.name} family has no kernel-clock "
                                                "select; remove the field")
        return None, con.clock_hz or board.clock_hz
    found = family.uart_at(con.base)
    if found is None:
        allowed = ", ".join(f"{_hex(u.base)} ({n})" for n, u in family.uarts.items())
        raise _Fail("console.base", f"is {_hex(con.base)}, not a UART of the {family.name} family; allowed: {allowed}")
    uart_name, uart = found
    kinds = drivers.UART_KINDS.get(drv, ())
    if uart.kind not in kinds:
        fitting = ", ".join(d for d, k in drivers.UART_KINDS.items() if uart.kind in k) or "none yet"
        raise _Fail("console.driver", f"is {drv!r}, which cannot drive {uart_name} ({uart.kind} registers); "
                                      f"allowed: {fitting}")
    if routes and not board.is_emulated and not (con.tx_pin and con.rx_pin):
        missing = "console.tx_pin" if not con.tx_pin else "console.rx_pin"
        raise _Fail(missing, f"is required on silicon: the {drv} driver routes the console pins, and an unrouted "
                             f"{uart_name} is silent")
    tx, rx = _pin(board, family, uart_name, uart, "tx"), _pin(board, family, uart_name, uart, "rx")
    if con.alternate_function:
        for mux in (tx, rx):
            if mux and mux.af != con.alternate_function:
                raise _Fail("console.alternate_function", f"is {con.alternate_function}; {mux.name} is {uart_name} on "
                                                          f"AF{mux.af} in the {family.name} family ({uart.source})")
    kernel_value = None
    if uart.kernel is None:
        if con.kernel_clock != "pclk":
            raise _Fail("console.kernel_clock", f"is {con.kernel_clock!r}; {uart_name} of the {family.name} family "
                                                "always runs from its bus clock; remove the field")
    else:
        kernel_value = uart.kernel.value(con.kernel_clock)
        if kernel_value is None:
            raise _Fail("console.kernel_clock", f"is {con.kernel_clock!r}; {uart.kernel.name} offers: "
                                                f"{', '.join(uart.kernel.sources())}")
    kernel_hz = _kernel_hz(board, family, plan, con.kernel_clock) if uart.kind != "nrf-uart" else plan.hsi_hz
    if not board.is_emulated:
        if con.clock_hz and con.clock_hz != kernel_hz:
            raise _Fail("console.clock_hz", f"is {con.clock_hz}, but {uart_name}'s kernel clock ({con.kernel_clock}) "
                                            f"runs at {kernel_hz} here; set {kernel_hz} or leave the field out")
        _check_baud(board, uart, kernel_hz)
    vddio2 = family.gpio.vddio2 if family.gpio else None
    on_vddio2 = bool(vddio2) and any(m and m.port == vddio2.port and m.pin >= vddio2.first_pin for m in (tx, rx))
    port = ConsolePort(uart_name, uart, tx, rx, kernel_value, on_vddio2)
    return port, (con.clock_hz or kernel_hz) if board.is_emulated else kernel_hz


def _check_pin(pin, name: str, family: Family) -> dict:
    """One pin table (timestamp_pin, detection_pin, processing_pin) against the family's GPIO."""
    updates: dict = {}
    if pin.driver not in ("stm32-gpio",):
        if pin.clock_enable_register or pin.clock_enable_bit:
            raise _Fail(f"{name}.clock_enable_register", f"is set, but the {pin.driver} driver enables no clock; "
                                                               "remove clock_enable_register/clock_enable_bit")
    if pin.driver not in ("stm32-gpio", "nrf-gpio"):
        return updates
    gpio = family.gpio
    expected_vendor = "stm32" if pin.driver == "stm32-gpio" else "nrf52"
    if gpio is None or family.vendor != expected_vendor:
        raise _Fail(f"{name}.driver", f"is {pin.driver!r}, which is not for the {family.name} family")
    port = gpio.port_of_base(pin.register)
    if port is None:
        allowed = ", ".join(f"{_hex(gpio.port_base(p))} (P{p})" for p in gpio.ports)
        raise _Fail(f"{name}.register", f"is {_hex(pin.register)}, not a GPIO port of the {family.name} family; "
                                              f"allowed: {allowed} ({gpio.source})")
    if pin.pin >= gpio.pins_on(port):
        raise _Fail(f"{name}.pin", f"is {pin.pin}; port {port} has pins 0..{gpio.pins_on(port) - 1}")
    if pin.driver == "stm32-gpio":
        want_register, want_bit = gpio.enable_register, gpio.ports.index(port)
        if pin.clock_enable_register and pin.clock_enable_register != want_register:
            raise _Fail(f"{name}.clock_enable_register",
                        f"is {_hex(pin.clock_enable_register)}; GPIO{port} of the {family.name} family is clocked by "
                        f"{gpio.enable_name} at {_hex(want_register)} ({gpio.source})")
        if pin.clock_enable_register and pin.clock_enable_bit != want_bit:
            raise _Fail(f"{name}.clock_enable_bit", f"is {pin.clock_enable_bit}; GPIO{port} is bit {want_bit}")
        updates = {"clock_enable_register": want_register, "clock_enable_bit": want_bit}
    return updates


def _check_memory(board: Board) -> None:
    regions = [("memory.flash", board.flash), ("memory.ram", board.ram)]
    regions += [(f"memory.extra.{r.name}", r) for r in board.extra_ram]
    for field, region in regions:
        if region.end > 1 << 32:
            raise _Fail(field, f"ends at {region.end:#x}, past the 4 GiB address space")
    for i, (field_a, a) in enumerate(regions):
        for field_b, b in regions[i + 1:]:
            if a.base < b.end and b.base < a.end:
                raise _Fail(field_b, f"({_hex(b.base)}..{_hex(b.end)}) overlaps {field_a} ({_hex(a.base)}..{_hex(a.end)})")


def check_board(board: Board, parsed: BoardFile) -> Board:
    """The board with its family data and derived values filled in, or BoardError (file, field, value)."""
    family = load_family(board.family_name)
    try:
        _check_core(board, family)
        _check_emulator(board)
        _check_memory(board)
        plan = _check_clock(board, family)
        _check_timing(board, plan)
        console_port, uart_hz = _check_console(board, family, plan)
        pin_updates = _check_pin(board.timestamp_pin, "timestamp_pin", family)
        detection = _check_pin(board.detection_pin, "detection_pin", family)
        processing = _check_pin(board.processing_pin, "processing_pin", family)
    except _Fail as fail:
        raise BoardError(f"{board.path}: field '{fail.field}': {fail.message}") from None
    console = dataclasses.replace(
        board.console, clock_hz=uart_hz,
        alternate_function=board.console.alternate_function or (console_port.tx.af if console_port and console_port.tx else 0))
    pin = dataclasses.replace(board.timestamp_pin, **pin_updates)
    return dataclasses.replace(board, family=family, clock_plan=plan, console_port=console_port,
                               console=console, timestamp_pin=pin,
                               detection_pin=dataclasses.replace(board.detection_pin, **detection),
                               processing_pin=dataclasses.replace(board.processing_pin, **processing))
