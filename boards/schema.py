"""The board description: one validated TOML file per board.

A board file is the single source for everything tinyrig needs to know about a target: the
core and memory map that startup code and the linker script are rendered from, the console
UART, the timer behind `m-lap-us`, the timestamp pin of the energy window, how to emulate it,
how to build it with PlatformIO, how to flash it with pyOCD and how much power it draws.

The file's shape is the pydantic model `BoardFile` (strict types, unknown fields rejected; its JSON
Schema is boards/board.schema.json, for editor completion). What the file says is then checked
against its chip family's data (boards/checks.py). Every error is one line naming the file, the
field (as a dotted path), the value and what is allowed, so a vendor porting a new MCU can fix a
board file without reading code. The rest of tinyrig reads the frozen `Board` object below.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import warnings

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import drivers
from .clocks import ClockPlan
from .families import Family, Uart, family_names

CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
# FPU names as gcc spells them in -mfpu; "none" means soft float.
FPUS = ("none", "fpv4-sp-d16", "fpv5-sp-d16", "fpv5-d16", "auto")
# Driver names come from the templates present: a board can only name a driver that exists.
UART_DRIVERS = drivers.available("uart")
TIMER_DRIVERS = drivers.available("timer")
PIN_DRIVERS = drivers.available("pin")
CLOCK_DRIVERS = drivers.available("clock")
FAMILIES = tuple(family_names())
# Cores that have the DSP extension (SMLAD & co) and those with Helium (MVE).
DSP_CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
HELIUM_CORES = ("cortex-m55",)


class BoardError(ValueError):
    """A board file is missing, unreadable or invalid."""


# -- the file, as written ------------------------------------------------------------------------

def _literal(values: tuple[str, ...]) -> Any:
    return Literal[values]  # type: ignore[valid-type]


# "register" is the datasheets' word for these fields; it shadows only ABCMeta.register, a class-level
# method no instance here uses, so pydantic's warning about it is silenced.
warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)


class _Table(BaseModel):
    # Strict: a TOML string is never taken for a number; unknown keys are errors, not ignored.
    # No NaN or infinity: a power model of inf A would turn every energy figure into inf.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class RegionFile(_Table):
    base: int = Field(ge=0, le=0xFFFFFFFF, description="Start address.")
    size: int = Field(ge=1024, le=0x100000000, description="Length in bytes.")


class MemoryFile(_Table):
    flash: RegionFile = Field(description="Code, constants, weights and the .data load image.")
    ram: RegionFile = Field(description="The main RAM: .data, .bss (the arena and input buffer) and the stack.")
    extra: dict[str, RegionFile] = Field(
        default_factory=dict,
        description="Further RAM regions by name (lower-case letters, digits, _), e.g. a separate SRAM2. The linker "
                    "script declares each one and gives it a NOLOAD section .<name> that code may place buffers in.")


class ConsoleFile(_Table):
    driver: _literal(UART_DRIVERS) = Field(description="UART driver: a template uart_<driver>.c.j2.")
    base: int = Field(ge=0, le=0xFFFFFFFF, description="The UART's register base; must be a UART of the family.")
    baud: int = Field(ge=300, description="Baud rate of performance and accuracy runs.")
    energy_baud: int = Field(9600, ge=300, description="Baud rate of energy runs (the MLPerf Tiny energy runner's).")
    clock_hz: int = Field(0, ge=0, description="The UART's kernel clock; 0 or absent: derived from kernel_clock.")
    kernel_clock: Literal["pclk", "sysclk", "hsi"] = Field(
        "pclk", description="STM32 kernel-clock source for the UART (the family's select register); pclk is the reset choice.")
    tx_pin: str = Field("", description="TX pin the driver routes, e.g. \"PA9\" (STM32) or \"P0.06\" (nRF52).")
    rx_pin: str = Field("", description="RX pin the driver routes.")
    alternate_function: int | None = Field(
        None, ge=0, le=15, description="STM32 AF number of both pins; absent: taken from the family's pin table.")


class TimerFile(_Table):
    driver: _literal(TIMER_DRIVERS) = Field(description="Tick counter behind m-lap-us: systick or dwt.")
    hz: int = Field(ge=1000, description="Its count rate: the core clock for both drivers.")


class TimestampPinFile(_Table):
    driver: _literal(PIN_DRIVERS) = Field(description="Timestamp pin driver; none where the emulator has no GPIO.")
    register: int = Field(0, ge=0, le=0xFFFFFFFF, description="GPIO port base (STM32, nRF52) or LED register (MPS2).")
    pin: int = Field(0, ge=0, le=31, description="Pin number within the port.")
    idle: Literal["high", "low"] = Field("high", description="Idle level; MLPerf Tiny's energy window wants high.")
    pulse_cycles: int = Field(2000, ge=1, description="How long a timestamp pulse lasts, in core cycles.")
    clock_enable_register: int | None = Field(
        None, ge=0, le=0xFFFFFFFF, description="STM32: the RCC register that clocks the port; absent: the family's.")
    clock_enable_bit: int | None = Field(None, ge=0, le=31, description="STM32: its bit; absent: the port's.")


class EmulatorFile(_Table):
    qemu_machine: str = Field("", description="qemu-system-arm -M value.")
    qemu_cpu: str = Field("", description="qemu-system-arm -cpu value, where the machine's default is not wanted.")
    renode_platform: str = Field("", description="Renode platform (.repl) path.")


class PlatformIOFile(_Table):
    registry_platform: str = Field("", description="Vendor platform for online users (env:vendor).")
    registry_board: str = Field("", description="Its board id.")
    registry_framework: str = Field("", description="Its framework, if the vendor environment needs one.")


class PowerFile(_Table):
    supply_v: float = Field(ge=0, description="Supply voltage of the power model, in volts.")
    active_current_a: float = Field(ge=0, description="Current while inferring (Run mode at clock_hz), in amperes.")
    idle_current_a: float = Field(ge=0, description="Current while idle (Sleep mode), in amperes.")
    source: str = Field(min_length=1, pattern=r"\S", description="The datasheet (and table) the figures come from.")


class TimingFile(_Table):
    flash_wait_states: int = Field(ge=0, le=64, description="Flash wait states at clock_hz; 0: flash reads as fast as RAM.")
    flash_read_bytes: int = Field(8, ge=2, le=64, description="Bytes one flash read returns (the accelerator's block), a power of two.")
    flash_prefetch: bool = Field(False, description="Sequential instruction prefetch is on (e.g. STM32 FLASH_ACR.PRFTEN).")
    flash_icache_lines: int = Field(0, ge=0, le=4096, description="Instruction cache sets (lines); 0: none.")
    flash_icache_ways: int = Field(0, ge=0, le=16, description="Blocks per instruction-cache line (ways).")
    flash_icache_fills_on_prefetch: bool = Field(
        False, description="A line the CPU takes from the prefetch buffer also enters the instruction cache "
                           "(false: only lines read on a miss do, the literal reading of e.g. RM0432 3.3.4).")
    flash_dcache_lines: int = Field(0, ge=0, le=4096, description="Data cache sets (lines) for constant reads; 0: none.")
    flash_dcache_ways: int = Field(0, ge=0, le=16, description="Blocks per data-cache line (ways).")
    flash_cache_unified: bool = Field(
        False, description="One cache, of the flash_icache_* shape, serves instruction fetch and constant reads "
                            "alike (e.g. the Cortex-M33's ICACHE on the STM32U5/L5 C-AHB bus); give no flash_dcache_*.")
    constants_in_ram: bool = Field(
        True, description="With flash wait states, the model's constants (weights, kernel tables, layer parameters) "
                          "are copied to RAM at reset, when they fit beside the arena, so weight reads do not stall "
                          "on flash (false: they stay in flash).")
    source: str = Field(min_length=1, pattern=r"\S", description="The reference manual (and section) the figures come from.")


class BoardFile(_Table):
    """A tinyrig board file (boards/<name>.toml)."""

    model_config = ConfigDict(title="tinyrig board file")

    name: str = Field(description="Must equal the file name without .toml.")
    description: str = Field(description="One line: board, MCU, core, clock, flash / RAM.")
    core: _literal(CORES) = Field(description="Arm core; picks the kernels (DSP, Helium) and gcc -mcpu.")
    fpu: _literal(FPUS) = Field(description="gcc -mfpu value; none: soft float.")
    clock_hz: int = Field(ge=1, description="Core clock the firmware runs at (the clock driver sets it).")
    family: _literal(FAMILIES) = Field(description="Chip family: a data file in boards/families/.")
    clock_driver: _literal(CLOCK_DRIVERS) = Field("none", description="Clock set-up run first at reset; none: the reset clock.")
    pyocd_target: str = Field("", description="pyOCD target name for flashing.")
    usb_ids: list[str] = Field(default_factory=list, description="VID:PID of the probe's serial port.")
    memory: MemoryFile = Field(description="Memory map the linker script is rendered from.")
    console: ConsoleFile = Field(description="The UART the MLPerf Tiny protocol runs over.")
    timer: TimerFile = Field(description="The timer behind m-lap-us.")
    timestamp_pin: TimestampPinFile = Field(description="The energy window's timestamp pin.")
    detection_pin: TimestampPinFile | None = Field(
        None, description="Streaming wakeword: the pin pulsed at each detection (the reference's WW_DETECTED; idle high).")
    processing_pin: TimestampPinFile | None = Field(
        None, description="Streaming wakeword: the pin held high while a hop of audio is processed (the reference's "
                          "Processing pin, whose duty cycle the interface board measures); give idle = \"low\".")
    emulator: EmulatorFile = Field(EmulatorFile(), description="How to emulate the board, if at all.")
    platformio: PlatformIOFile = Field(PlatformIOFile(), description="PlatformIO registry settings for online users.")
    power: PowerFile = Field(description="Power model of emulated energy runs, with its datasheet.")
    timing: TimingFile | None = Field(None, description="Flash timing at clock_hz for the cycle model (tinyrig.hil.targets.cycle_model).")


# -- the board, as the rest of tinyrig reads it ---------------------------------------------------

@dataclass(frozen=True)
class MemoryRegion:
    base: int
    size: int

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(frozen=True)
class NamedRegion(MemoryRegion):
    name: str = ""


@dataclass(frozen=True)
class PinMux:
    """One routed pin: port letter (or nRF port digit), its index, the pin and its alternate function."""

    name: str
    port: str
    port_index: int
    pin: int
    af: int


@dataclass(frozen=True)
class ConsolePort:
    """The console UART resolved against the family data: what the UART template writes."""

    uart_name: str
    uart: Uart
    tx: PinMux | None
    rx: PinMux | None
    kernel_value: int | None  # field value of the kernel-clock select, None where there is none
    vddio2: bool              # a routed pin sits on VDDIO2 (STM32 PWR_CR2.IOSV must be set first)


@dataclass(frozen=True)
class Console:
    driver: str
    base: int
    baud: int
    energy_baud: int
    # Kernel clock feeding the UART's baud generator (derived from kernel_clock when the file omits it).
    clock_hz: int = 0
    # Pins the console uses, for real boards whose startup must route them (port letter, pin, AF).
    tx_pin: str = ""
    rx_pin: str = ""
    alternate_function: int = 0
    kernel_clock: str = "pclk"


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
    registry_board: str = Field("", description="Its board id.")
    registry_framework: str = Field("", description="Its framework, if the vendor environment needs one.")


@dataclass(frozen=True)
class PowerModel:
    supply_v: float
    active_current_a: float
    idle_current_a: float
    source: str


@dataclass(frozen=True)
class Timing:
    """How fast the core reads its flash at `clock_hz` (the `[timing]` table), for the cycle model
    (tinyrig.hil.targets.cycle_model): wait states per flash read and the shape of the flash
    accelerator (sequential instruction prefetch, instruction and data caches of lines x ways
    blocks of `flash_read_bytes`). Zero wait states: flash reads as fast as RAM."""

    flash_wait_states: int = 0
    flash_read_bytes: int = 8
    flash_prefetch: bool = False
    flash_icache_lines: int = 0
    flash_icache_ways: int = 0
    flash_icache_fills_on_prefetch: bool = False
    flash_dcache_lines: int = 0
    flash_dcache_ways: int = 0
    flash_cache_unified: bool = False
    constants_in_ram: bool = True
    source: str = ""

    @property
    def icache_bytes(self) -> int:
        """The flash instruction cache's size when flash has wait states (0 otherwise, or without a
        cache): the generated kernels keep their unrolled loops within it (TINYRIG_FLASH_ICACHE_BYTES)."""
        if not self.flash_wait_states or not self.flash_icache_lines:
            return 0
        return self.flash_icache_lines * max(self.flash_icache_ways, 1) * self.flash_read_bytes

    @property
    def wants_constants_in_ram(self) -> bool:
        """Flash with wait states and constants_in_ram: the firmware copies the model's constants to RAM
        at reset when they fit (codegen/firmware.py constants_in_ram)."""
        return self.flash_wait_states > 0 and self.constants_in_ram


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
    family_name: str
    clock_driver: str = "none"
    usb_ids: tuple[str, ...] = ()
    extra_ram: tuple[NamedRegion, ...] = ()
    timing: Timing | None = None  # None: not described (emulators read flash with no wait states)
    # Streaming wakeword (sww01): the pin pulsed at each detection and the pin held high while a
    # hop of audio is processed (the reference DUT's WW_DETECTED and Processing pins).
    detection_pin: TimestampPin = NO_PIN
    processing_pin: TimestampPin = NO_PIN
    path: Path | None = field(default=None, compare=False)
    # Derived from the family data by boards/checks.py (not part of equality or hashing).
    family: Family | None = field(default=None, compare=False)
    clock_plan: ClockPlan | None = field(default=None, compare=False)
    console_port: ConsolePort | None = field(default=None, compare=False)

    @property
    def soc_family(self) -> str:
        """The vendor (stm32, nrf52, cmsdk): what the firmware's register layouts have in common."""
        return self.family.vendor if self.family else ""

    @property
    def is_emulated(self) -> bool:
        return self.emulator.kind != "none"

    @property
    def has_dsp(self) -> bool:
        return self.core in DSP_CORES

    @property
    def flash_icache_bytes(self) -> int:
        """Timing.icache_bytes, 0 for a board without [timing]: what the kernels' loops are sized for."""
        return self.timing.icache_bytes if self.timing else 0

    @property
    def wants_constants_in_ram(self) -> bool:
        """Timing.wants_constants_in_ram, False for a board without [timing]."""
        return bool(self.timing and self.timing.wants_constants_in_ram)

    @property
    def has_helium(self) -> bool:
        return self.core in HELIUM_CORES

    @property
    def float_abi(self) -> str:
        return "soft" if self.fpu == "none" else "hard"


# -- errors ---------------------------------------------------------------------------------------

# Fields and values that earlier tinyrig versions accepted, with what replaced them.
RENAMED = {
    "soc_family": "replaced by 'family', the chip family's data file in boards/families/",
}
RENAMED_VALUES = {
    ("console", "driver", "stm32-usart-v2-af"): "merged into 'stm32-usart-v2', which routes tx_pin/rx_pin itself",
    ("clock_driver", "stm32h7"): "renamed 'stm32h7a3' (RM0455 parts only)",
}


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class that holds the field at `loc` (for the 'allowed here' list)."""
    model: Any = BoardFile
    for key in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        info = model.model_fields.get(key) if isinstance(key, str) else None
        if info is None:
            return None
        annotation = info.annotation
        if getattr(annotation, "__origin__", None) is dict:
            annotation = annotation.__args__[1]
        model = annotation
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _allowed_literals(loc: tuple) -> str:
    parent = _model_at(loc[:-1])
    info = parent.model_fields.get(loc[-1]) if parent else None
    args = getattr(info.annotation, "__args__", ()) if info else ()
    return ", ".join(str(a) for a in args)


def _describe(error: dict) -> tuple[str, str]:
    """(field, message) for the first pydantic error, worded for someone editing the file."""
    loc = tuple(error["loc"])
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    name = _dotted(loc)
    if kind == "extra_forbidden":
        if loc[-1] in RENAMED:
            return name, f"unknown field: {RENAMED[loc[-1]]}"
        parent = _model_at(loc[:-1])
        allowed = ", ".join(sorted(parent.model_fields)) if parent else "-"
        close = difflib.get_close_matches(str(loc[-1]), list(parent.model_fields), n=1) if parent else []
        guess = f" (did you mean '{close[0]}'?)" if close else ""
        return name, f"unknown field{guess}; allowed here: {allowed}"
    if kind == "missing":
        return name, "is required"
    if kind == "literal_error":
        hint = RENAMED_VALUES.get((*loc, value))
        return name, f"is {value!r}{'; ' + hint if hint else ''}; allowed: {_allowed_literals(loc)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return name, f"must be an integer, got {value!r}"
    if kind in ("float_type", "float_parsing"):
        return name, f"must be a number, got {value!r}"
    if kind == "string_type":
        return name, f"must be a string, got {value!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return name, "must be a table"
    if kind == "list_type":
        return name, "must be a list"
    if kind == "greater_than_equal":
        return name, f"is {value}; must be >= {ctx.get('ge')}"
    if kind == "less_than_equal":
        limit = ctx.get("le")
        return name, f"is {value}; must be <= {hex(limit) if isinstance(limit, int) and limit > 0xFFFF else limit}"
    if kind in ("string_too_short", "string_pattern_mismatch") and loc in (("power", "source"), ("timing", "source")):
        return name, "must name the datasheet the figures come from"
    return name, f"is {value!r}: {error['msg']}"


def _region_name_error(memory: MemoryFile) -> tuple[str, str] | None:
    import re

    for key in memory.extra:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key) or key in ("flash", "ram"):
            return f"memory.extra.{key}", "region names are lower-case letters, digits and _ (not flash or ram)"
    return None


def _timing_error(timing: TimingFile | None) -> tuple[str, str] | None:
    if timing is None:
        return None
    if timing.flash_read_bytes & (timing.flash_read_bytes - 1):
        return "timing.flash_read_bytes", f"is {timing.flash_read_bytes}; must be a power of two"
    for cache in ("icache", "dcache"):
        lines, ways = getattr(timing, f"flash_{cache}_lines"), getattr(timing, f"flash_{cache}_ways")
        if (lines == 0) != (ways == 0):
            return f"timing.flash_{cache}_ways", f"is {ways} with {lines} lines; give both or neither"
    if timing.flash_cache_unified and (not timing.flash_icache_lines or timing.flash_dcache_lines):
        return ("timing.flash_cache_unified", "is true: the one cache takes the flash_icache_* shape; give those "
                "and no flash_dcache_*")
    return None


# -- loading --------------------------------------------------------------------------------------

# A board file is a few kilobytes of TOML; anything far bigger is not one, and reading it whole
# would only delay the error.
MAX_BOARD_FILE_BYTES = 1 << 20


def _board_text(path: Path) -> str:
    """The board file's text, or BoardError naming the file: a folder, a pipe or device (which
    would block), a name the OS refuses, a huge or binary file are all "not a board file"."""
    shown = str(path) if len(str(path)) <= 200 else str(path)[:200] + "..."
    try:
        if not path.exists():
            raise BoardError(f"{shown}: no such board file")
        if not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise BoardError(f"{shown}: {kind}; give a board name or a .toml board file")
        if path.stat().st_size > MAX_BOARD_FILE_BYTES:
            raise BoardError(f"{shown}: {path.stat().st_size:,} bytes is too big for a board file")
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BoardError(f"{shown}: not a text (UTF-8) file: byte {exc.start} is {exc.object[exc.start]:#04x}") from None
    except OSError as exc:
        raise BoardError(f"{shown}: cannot read the board file: {exc.strerror or exc}") from None


def read_board_file(path: Path) -> BoardFile:
    """The file's contents as a BoardFile, or BoardError naming the file and field."""
    try:
        data = tomllib.loads(_board_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise BoardError(f"{path}: not valid TOML: {exc}") from None
    try:
        parsed = BoardFile.model_validate(data)
    except ValidationError as exc:
        # An unknown field first: a typo'd required key (clock_hzz) is also reported missing, and
        # "field 'clock_hz': is required" would hide the line the vendor has to fix.
        # Only where the table's fields are known (the [timing] table is checked apart, by _timing_error).
        errors = exc.errors()
        typo = next((e for e in errors if e["type"] == "extra_forbidden" and _model_at(tuple(e["loc"])[:-1])), None)
        field_name, message = _describe(typo or errors[0])
        raise BoardError(f"{path}: field '{field_name}': {message}") from None
    problem = _region_name_error(parsed.memory) or _timing_error(parsed.timing)
    if problem:
        raise BoardError(f"{path}: field '{problem[0]}': {problem[1]}")
    return parsed


def _pin_from_file(pin: TimestampPinFile | None) -> TimestampPin:
    if pin is None:
        return NO_PIN
    return TimestampPin(driver=pin.driver, register=pin.register, pin=pin.pin, idle=pin.idle,
                        pulse_cycles=pin.pulse_cycles, clock_enable_register=pin.clock_enable_register or 0,
                        clock_enable_bit=pin.clock_enable_bit or 0)


def board_from_file(parsed: BoardFile, path: Path) -> Board:
    con = parsed.console
    return Board(
        name=parsed.name,
        description=parsed.description,
        core=parsed.core,
        fpu=parsed.fpu,
        clock_hz=parsed.clock_hz,
        flash=MemoryRegion(parsed.memory.flash.base, parsed.memory.flash.size),
        ram=MemoryRegion(parsed.memory.ram.base, parsed.memory.ram.size),
        extra_ram=tuple(NamedRegion(r.base, r.size, name) for name, r in sorted(parsed.memory.extra.items())),
        console=Console(driver=con.driver, base=con.base, baud=con.baud, energy_baud=con.energy_baud,
                        clock_hz=con.clock_hz, tx_pin=con.tx_pin, rx_pin=con.rx_pin,
                        alternate_function=con.alternate_function or 0, kernel_clock=con.kernel_clock),
        timer=Timer(driver=parsed.timer.driver, hz=parsed.timer.hz),
        timestamp_pin=_pin_from_file(parsed.timestamp_pin),
        detection_pin=_pin_from_file(parsed.detection_pin),
        processing_pin=_pin_from_file(parsed.processing_pin),
        emulator=Emulator(**parsed.emulator.model_dump()),
        platformio=PlatformIO(**parsed.platformio.model_dump()),
        pyocd_target=parsed.pyocd_target,
        power=PowerModel(**parsed.power.model_dump()),
        family_name=parsed.family,
        clock_driver=parsed.clock_driver,
        usb_ids=tuple(parsed.usb_ids),
        timing=Timing(**parsed.timing.model_dump()) if parsed.timing else None,
        path=path,
    )


def parse_board(path: Path) -> Board:
    """Load and validate one board file: its shape, then its values against its family's data."""
    from .checks import check_board

    path = Path(path)
    parsed = read_board_file(path)
    if parsed.name != path.stem:
        raise BoardError(f"{path}: field 'name': is {parsed.name!r} but the file is named {path.stem!r}.toml")
    return check_board(board_from_file(parsed, path), parsed)
