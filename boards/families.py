"""Family data: what a chip family's reference manual says, as tables the checks and templates read.

One TOML file per family in boards/families/: clock limits and flash wait states per voltage range,
register bases, the GPIO ports and their clock enable, and for each console-capable UART its clock
enable, kernel-clock select and the TX/RX pin + alternate-function pairs, each with its source.
A board names its family; the board checks (boards/checks.py) and the driver templates read only
this data, so a new part of a known family needs a board file and no template change.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Literal

import warnings

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FAMILIES_DIR = Path(__file__).resolve().parent / "families"


class FamilyError(ValueError):
    """A family file is missing or invalid (a bug in tinyrig's data, not in a board file)."""


# "register" is the datasheets' word for these fields; it shadows only ABCMeta.register, a class-level
# method no instance here uses, so pydantic's warning about it is silenced.
warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PllLimits(_Strict):
    input_hz: tuple[int, int]
    vco_hz: tuple[int, int]
    m: tuple[int, int]
    n: tuple[int, int]
    r: tuple[int, ...]
    source: str


class VoltageRange(_Strict):
    """One core-voltage range: its top clock and the flash wait states below it."""

    name: str
    vos: int
    max_hz: int
    # HCLK limit for 0, 1, 2 ... wait states: n wait states cover up to wait_state_limits_hz[n].
    wait_state_limits_hz: tuple[int, ...]
    # STM32L4+ only: PWR_CR5.R1MODE (0 = range 1 boost mode).
    r1mode: int | None = None
    source: str

    def wait_states(self, hz: int) -> int:
        for states, limit in enumerate(self.wait_state_limits_hz):
            if hz <= limit:
                return states
        raise ValueError(f"{hz} Hz is above {self.name}'s {self.max_hz} Hz")


class Clock(_Strict):
    drivers: tuple[str, ...] = ()
    # Frequencies the family's clock driver can set; empty: any the PLL limits reach exactly.
    driver_hz: tuple[int, ...] = ()
    apb_divider: int = 1
    reset_hz: int = 0
    reset_source: str = ""
    max_hz: int = 0
    max_source: str = ""
    hsi_hz: int = 0
    hsi_source: str = ""
    flash_acr_enables: int = 0
    flash_latency_bits: int = 4
    flash_acr_source: str = ""
    icache: int = 0
    icache_source: str = ""
    ahb_half_step_above_hz: int = 0
    ahb_half_step_source: str = ""
    pll: PllLimits | None = None
    ranges: tuple[VoltageRange, ...] = ()


class Registers(_Strict):
    rcc: int
    pwr: int
    flash: int
    source: str


class Vddio2(_Strict):
    """Pins on a separately declared supply (STM32 PWR_CR2.IOSV): they stay dead until it is set."""

    port: str
    first_pin: int
    register: int
    bit: int
    pwr_enable_register: int
    pwr_enable_bit: int
    source: str


class Gpio(_Strict):
    base: int
    stride: int
    ports: str
    pins_per_port: int
    last_port_pins: int = 0  # a short last port (nRF52840 P1 has 16 pins)
    enable_register: int = 0
    enable_name: str = ""
    vddio2: Vddio2 | None = None
    source: str

    def port_base(self, port: str) -> int:
        return self.base + self.stride * self.ports.index(port)

    def port_of_base(self, base: int) -> str | None:
        for port in self.ports:
            if self.port_base(port) == base:
                return port
        return None

    def pins_on(self, port: str) -> int:
        if self.last_port_pins and port == self.ports[-1]:
            return self.last_port_pins
        return self.pins_per_port


class BitField(_Strict):
    register: int
    bit: int
    name: str


class KernelSelect(_Strict):
    """The UART's kernel-clock multiplexer and the field value for each source it offers."""

    register: int
    shift: int
    width: int
    name: str
    pclk: int | None = None
    sysclk: int | None = None
    hsi: int | None = None

    def value(self, source: str) -> int | None:
        return getattr(self, source)

    def sources(self) -> list[str]:
        return [s for s in ("pclk", "sysclk", "hsi") if self.value(s) is not None]


class Uart(_Strict):
    base: int
    # usart: ISR/TDR/RDR layout; lpuart: the same with a 256x BRR; usart-v1: SR/DR layout (F1/F2/F4).
    kind: Literal["usart", "lpuart", "usart-v1", "nrf-uart"]
    bus: Literal["apb1", "apb2", ""] = ""
    enable: BitField | None = None
    kernel: KernelSelect | None = None
    tx: dict[str, int] = Field(default_factory=dict)
    rx: dict[str, int] = Field(default_factory=dict)
    source: str


class Family(_Strict):
    name: str
    title: str
    label: str = ""  # short name for generated comments, e.g. "STM32F4"
    vendor: Literal["stm32", "nrf52", "cmsdk"]
    cores: tuple[str, ...]
    parts: tuple[str, ...] = ()
    manuals: tuple[str, ...]
    clock: Clock = Clock()
    registers: Registers | None = None
    gpio: Gpio | None = None
    uarts: dict[str, Uart] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> "Family":
        for name, uart in self.uarts.items():
            for pin in (*uart.tx, *uart.rx):
                if self.gpio is None or pin[:1] != "P" or pin[1:2] not in self.gpio.ports:
                    raise ValueError(f"uarts.{name}: pin {pin} is not on a port of this family")
        for rng in self.clock.ranges:
            if rng.wait_state_limits_hz[-1] != rng.max_hz:
                raise ValueError(f"clock.ranges '{rng.name}': the last wait-state limit must be max_hz")
        return self

    def uart_at(self, base: int) -> tuple[str, Uart] | None:
        for name, uart in self.uarts.items():
            if uart.base == base:
                return name, uart
        return None


def family_names() -> list[str]:
    return sorted(p.stem for p in FAMILIES_DIR.glob("*.toml"))


@functools.cache
def load_family(name: str) -> Family:
    path = FAMILIES_DIR / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        family = Family.model_validate(data)
    except FileNotFoundError:
        raise FamilyError(f"no family file {path}") from None
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise FamilyError(f"{path}: {exc}") from None
    if family.name != name:
        raise FamilyError(f"{path}: name is {family.name!r} but the file is {name}.toml")
    return family
