"""The clock a board asks for, planned from its family's limits before anything is rendered.

`plan_clock` turns (family, clock driver, clock_hz) into the numbers a clock driver template writes:
voltage range, flash wait states, PLL dividers and bus clocks, or raises ClockPlanError with what
the family allows. It is the one place that decides whether a clock is possible, so an impossible
one is an error in the board file, never a silent mis-set chip.
"""

from __future__ import annotations

from dataclasses import dataclass

from .families import Family, VoltageRange

# PLL input the search prefers: ST's own examples for these parts run the PLL from a 4 MHz input
# (MSI 4 MHz, M = 1); from HSI16 that is M = 4, which keeps the VCO low and the multiplier modest.
PREFERRED_PLL_INPUT_HZ = 4_000_000


class ClockPlanError(ValueError):
    """clock_hz cannot be set on this family with this driver; the message says what can."""

    def __init__(self, message: str, field: str = "clock_hz"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Pll:
    m: int
    n: int
    r: int
    input_hz: int
    vco_hz: int


@dataclass(frozen=True)
class ClockPlan:
    sysclk_hz: int
    range: VoltageRange | None
    wait_states: int
    pll: Pll | None
    apb_hz: int
    hsi_hz: int
    # Switch to the PLL with HCLK = SYSCLK / 2 first (STM32L4+/L5 above 80 MHz).
    ahb_half_step: bool


def _mhz(hz: int) -> str:
    return f"{hz / 1e6:g} MHz"


def find_pll(family: Family, source_hz: int, target_hz: int) -> Pll | None:
    """M, N, R with source / M * N / R == target exactly, inside the family's PLL limits."""
    limits = family.clock.pll
    if limits is None:
        return None
    found = []
    for m in range(limits.m[0], limits.m[1] + 1):
        if source_hz % m:
            continue
        input_hz = source_hz // m
        if not limits.input_hz[0] <= input_hz <= limits.input_hz[1]:
            continue
        for r in limits.r:
            vco_hz = target_hz * r
            if vco_hz % input_hz or not limits.vco_hz[0] <= vco_hz <= limits.vco_hz[1]:
                continue
            n = vco_hz // input_hz
            if limits.n[0] <= n <= limits.n[1]:
                found.append(Pll(m=m, n=n, r=r, input_hz=input_hz, vco_hz=vco_hz))
    if not found:
        return None
    return min(found, key=lambda p: (abs(p.input_hz - PREFERRED_PLL_INPUT_HZ), p.vco_hz))


def choose_range(family: Family, hz: int) -> VoltageRange | None:
    """The lowest-voltage range (the order of the family file) that reaches hz."""
    for rng in family.clock.ranges:
        if hz <= rng.max_hz:
            return rng
    return None


def plan_clock(family: Family, driver: str, clock_hz: int, emulated: bool) -> ClockPlan:
    clock = family.clock
    if clock.max_hz and clock_hz > clock.max_hz and not emulated:
        raise ClockPlanError(f"is {clock_hz}; the {family.name} family runs at most {clock.max_hz} "
                             f"({_mhz(clock.max_hz)}: {clock.max_source})")
    rng = choose_range(family, clock_hz)
    wait_states = rng.wait_states(clock_hz) if rng else 0
    if driver == "none":
        # The chip keeps its reset clock: on silicon clock_hz must say so, or every figure lies.
        if not emulated and clock.reset_hz and clock_hz != clock.reset_hz:
            raise ClockPlanError(
                f"is {clock_hz}, but with clock_driver \"none\" a {family.name} part runs from its reset clock, "
                f"{clock.reset_hz} ({clock.reset_source}); set clock_hz = {clock.reset_hz:_} or use a clock driver "
                f"({', '.join(clock.drivers) or 'none exists for this family yet'})")
        return ClockPlan(clock_hz, rng, wait_states, None, clock_hz, clock.hsi_hz, False)
    if driver not in clock.drivers:
        allowed = ", ".join(["none", *clock.drivers])
        raise ClockPlanError(f"is {driver!r}, not a clock driver of the {family.name} family; allowed: {allowed}",
                             field="clock_driver")
    if clock.driver_hz and clock_hz not in clock.driver_hz:
        raise ClockPlanError(f"is {clock_hz}; the {driver} clock driver sets up exactly "
                             f"{' or '.join(str(hz) for hz in clock.driver_hz)}")
    pll = None
    if clock.pll is not None:
        pll = find_pll(family, clock.hsi_hz, clock_hz)
        if pll is None:
            raise ClockPlanError(f"is {clock_hz}; no PLL setting makes exactly that from the "
                                 f"{_mhz(clock.hsi_hz)} HSI within the {family.name} limits ({clock.pll.source})")
    half_step = bool(clock.ahb_half_step_above_hz and clock_hz > clock.ahb_half_step_above_hz)
    return ClockPlan(clock_hz, rng, wait_states, pll, clock_hz // clock.apb_divider, clock.hsi_hz, half_step)
