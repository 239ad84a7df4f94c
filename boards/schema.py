"""The board description: one validated TOML file per board.

A board file is the single source for everything tinyrig needs to know about a target: the
core and memory map that startup code and the linker script are rendered from, the console
UART, the timer behind `m-lap-us`, the timestamp pin of the energy window, how to emulate it,
how to build it with PlatformIO, how to flash it with pyOCD and how much power it draws.

Validation is strict and explicit: every error names the file, the field (as a dotted path)
and what is allowed, so a vendor porting a new MCU can fix a board file without reading code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
# FPU names as gcc spells them in -mfpu; "none" means soft float.
FPUS = ("none", "fpv4-sp-d16", "fpv5-sp-d16", "fpv5-d16", "auto")
UART_DRIVERS = ("cmsdk-uart", "stm32-usart", "stm32-lpuart", "nrf-uarte", "stm32-usart-v2", "stm32-usart-v2-af", "nrf-uart")
TIMER_DRIVERS = ("systick", "dwt")
PIN_DRIVERS = ("mps2-fpgaio-led", "stm32-gpio", "nrf-gpio", "none")
# Clock set-up run by the reset handler before anything else ("none": the reset clock is used).
CLOCK_DRIVERS = ("none", "stm32l4", "stm32u5", "stm32h7", "nrf52")
# Cores that have the DSP extension (SMLAD & co) and those with Helium (MVE).
DSP_CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
HELIUM_CORES = ("cortex-m55",)


class BoardError(ValueError):
    """A board file is missing, unreadable or invalid."""


@dataclass(frozen=True)
class MemoryRegion:
    base: int
    size: int

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(frozen=True)
class Console:
    driver: str
    base: int
    baud: int
    energy_baud: int
    # Peripheral clock feeding the UART's baud generator; 0 where the emulator ignores it.
    clock_hz: int = 0
    # Pins the console uses, for real boards whose startup must route them (port letter, pin, AF).
    tx_pin: str = ""
    rx_pin: str = ""
    alternate_function: int = 0


@dataclass(frozen=True)
class Timer:
    driver: str
    hz: int


@dataclass(frozen=True)
class TimestampPin:
    driver: str
    register: int
    pin: int
    idle: str  # "high" or "low": MLPerf Tiny's energy window wants idle high, pulse low
    pulse_cycles: int
    # For GPIO ports that need a clock enable before use (STM32 RCC), the register and bit.
    clock_enable_register: int = 0
    clock_enable_bit: int = 0


# A pin the board does not have (the streaming wakeword pins are optional).
NO_PIN = TimestampPin(driver="none", register=0, pin=0, idle="low", pulse_cycles=1)


@dataclass(frozen=True)
class Emulator:
    qemu_machine: str = ""
    qemu_cpu: str = ""
    renode_platform: str = ""

    @property
    def kind(self) -> str:
        if self.qemu_machine:
            return "qemu"
        if self.renode_platform:
            return "renode"
        return "none"


@dataclass(frozen=True)
class PlatformIO:
    registry_platform: str = ""
    registry_board: str = ""
    registry_framework: str = ""


@dataclass(frozen=True)
class PowerModel:
    supply_v: float
    active_current_a: float
    idle_current_a: float
    source: str


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: str
    fpu: str
    clock_hz: int
    flash: MemoryRegion
    ram: MemoryRegion
    console: Console
    timer: Timer
    timestamp_pin: TimestampPin
    emulator: Emulator
    platformio: PlatformIO
    pyocd_target: str
    power: PowerModel
    soc_family: str
    clock_driver: str = "none"
    usb_ids: tuple[str, ...] = ()
    # Streaming wakeword (sww01): the pin pulsed at each detection (the reference's WW_DETECTED,
    # idle high) and the pin held high while a hop of audio is processed (its "Processing" pin,
    # whose duty cycle the MLPerf Tiny interface board measures).
    detection_pin: TimestampPin = NO_PIN
    processing_pin: TimestampPin = NO_PIN
    path: Path | None = field(default=None, compare=False)

    @property
    def is_emulated(self) -> bool:
        return self.emulator.kind != "none"

    @property
    def has_dsp(self) -> bool:
        return self.core in DSP_CORES

    @property
    def has_helium(self) -> bool:
        return self.core in HELIUM_CORES

    @property
    def float_abi(self) -> str:
        return "soft" if self.fpu == "none" else "hard"


class _Fields:
    """Reads typed fields out of one TOML table, naming file and field in every error."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str = ""):
        self.path, self.table, self.prefix = path, table, prefix
        self.used: set[str] = set()

    def _error(self, key: str, message: str) -> BoardError:
        return BoardError(f"{self.path}: field '{self.prefix}{key}': {message}")

    def _get(self, key: str, default: Any) -> Any:
        self.used.add(key)
        if key in self.table:
            return self.table[key]
        if default is _REQUIRED:
            raise self._error(key, "is required")
        return default

    def str(self, key: str, default: Any = None, choices: tuple[str, ...] | None = None) -> str:
        value = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(value, str):
            raise self._error(key, f"must be a string, got {value!r}")
        if choices is not None and value not in choices:
            raise self._error(key, f"is {value!r}; allowed: {', '.join(choices)}")
        return value

    def int(self, key: str, default: Any = None, minimum: int = 0) -> int:
        value = self._get(key, _REQUIRED if default is None else default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._error(key, f"must be an integer, got {value!r}")
        if value < minimum:
            raise self._error(key, f"is {value}; must be >= {minimum}")
        return value

    def float(self, key: str, minimum: float = 0.0) -> float:
        value = self._get(key, _REQUIRED)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._error(key, f"must be a number, got {value!r}")
        if value < minimum:
            raise self._error(key, f"is {value}; must be >= {minimum}")
        return float(value)

    def table_of(self, key: str, required: bool = True) -> "_Fields":
        value = self._get(key, _REQUIRED if required else {})
        if not isinstance(value, dict):
            raise self._error(key, "must be a table")
        return _Fields(self.path, value, f"{self.prefix}{key}.")

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._error(key, "must be a list of strings")
        return tuple(value)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise BoardError(
                f"{self.path}: unknown field '{self.prefix}{unknown[0]}'; "
                f"allowed here: {', '.join(sorted(self.used))}"
            )


_REQUIRED = object()


def parse_board(path: Path) -> Board:
    """Load and validate one board file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BoardError(f"{path}: no such board file") from None
    except tomllib.TOMLDecodeError as exc:
        raise BoardError(f"{path}: not valid TOML: {exc}") from None

    top = _Fields(path, data)
    name = top.str("name")
    if name != path.stem:
        raise BoardError(f"{path}: field 'name': is {name!r} but the file is named {path.stem!r}.toml")
    description = top.str("description")
    core = top.str("core", choices=CORES)
    fpu = top.str("fpu", choices=FPUS)
    if core in ("cortex-m0plus", "cortex-m3") and fpu != "none":
        raise BoardError(f"{path}: field 'fpu': {core} has no FPU; allowed: none")
    clock_hz = top.int("clock_hz", minimum=1)
    soc_family = top.str("soc_family", choices=("cmsdk", "stm32", "nrf52"))
    clock_driver = top.str("clock_driver", default="none", choices=CLOCK_DRIVERS)
    pyocd_target = top.str("pyocd_target", default="")
    usb_ids = top.str_list("usb_ids")

    mem = top.table_of("memory")
    regions = {}
    for key in ("flash", "ram"):
        region = mem.table_of(key)
        regions[key] = MemoryRegion(base=region.int("base"), size=region.int("size", minimum=1024))
        region.reject_unknown()
    mem.reject_unknown()

    con = top.table_of("console")
    console = Console(
        driver=con.str("driver", choices=UART_DRIVERS),
        base=con.int("base"),
        baud=con.int("baud", minimum=300),
        energy_baud=con.int("energy_baud", default=9600, minimum=300),
        clock_hz=con.int("clock_hz", default=0),
        tx_pin=con.str("tx_pin", default=""),
        rx_pin=con.str("rx_pin", default=""),
        alternate_function=con.int("alternate_function", default=0),
    )
    con.reject_unknown()

    tim = top.table_of("timer")
    timer = Timer(driver=tim.str("driver", choices=TIMER_DRIVERS), hz=tim.int("hz", minimum=1000))
    tim.reject_unknown()

    pin = _parse_pin(path, top, "timestamp_pin", required=True, idle="high")
    detection_pin = _parse_pin(path, top, "detection_pin", required=False, idle="high")
    processing_pin = _parse_pin(path, top, "processing_pin", required=False, idle="low")

    emu_t = top.table_of("emulator", required=False)
    emulator = Emulator(
        qemu_machine=emu_t.str("qemu_machine", default=""),
        qemu_cpu=emu_t.str("qemu_cpu", default=""),
        renode_platform=emu_t.str("renode_platform", default=""),
    )
    emu_t.reject_unknown()

    pio_t = top.table_of("platformio", required=False)
    pio = PlatformIO(
        registry_platform=pio_t.str("registry_platform", default=""),
        registry_board=pio_t.str("registry_board", default=""),
        registry_framework=pio_t.str("registry_framework", default=""),
    )
    pio_t.reject_unknown()

    pow_t = top.table_of("power")
    power = PowerModel(
        supply_v=pow_t.float("supply_v"),
        active_current_a=pow_t.float("active_current_a"),
        idle_current_a=pow_t.float("idle_current_a"),
        source=pow_t.str("source"),
    )
    pow_t.reject_unknown()
    if not power.source.strip():
        raise BoardError(f"{path}: field 'power.source': must name the datasheet the figures come from")

    top.reject_unknown()
    return Board(
        name=name,
        description=description,
        core=core,
        fpu=fpu,
        clock_hz=clock_hz,
        flash=regions["flash"],
        ram=regions["ram"],
        console=console,
        timer=timer,
        timestamp_pin=pin,
        emulator=emulator,
        platformio=pio,
        pyocd_target=pyocd_target,
        power=power,
        soc_family=soc_family,
        clock_driver=clock_driver,
        usb_ids=usb_ids,
        detection_pin=detection_pin,
        processing_pin=processing_pin,
        path=path,
    )


def _parse_pin(path: Path, top: _Fields, key: str, required: bool, idle: str) -> TimestampPin:
    """One pin table: [timestamp_pin] (required) or an optional streaming pin (absent: NO_PIN)."""
    if not required and key not in top.table:
        top.used.add(key)
        return NO_PIN
    pin_t = top.table_of(key)
    pin = TimestampPin(
        driver=pin_t.str("driver", choices=PIN_DRIVERS),
        register=pin_t.int("register", default=0),
        pin=pin_t.int("pin", default=0),
        idle=pin_t.str("idle", default=idle, choices=("high", "low")),
        pulse_cycles=pin_t.int("pulse_cycles", default=2000, minimum=1),
        clock_enable_register=pin_t.int("clock_enable_register", default=0),
        clock_enable_bit=pin_t.int("clock_enable_bit", default=0),
    )
    pin_t.reject_unknown()
    if pin.pin > 31:
        raise BoardError(f"{path}: field '{key}.pin': is {pin.pin}; allowed: 0..31")
    return pin
