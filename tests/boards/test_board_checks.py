"""Board files checked against their family data: the vendor cases of issue 18, each ending in the
right firmware or in one error line naming the file, the field, the value and what the part allows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tinyrig.boards import BoardError, all_boards, load_board
from tinyrig.boards.drivers import UART_KINDS, UART_ROUTES_PINS, UART_USES_ALTERNATE_FUNCTION, available
from tinyrig.boards.families import family_names, load_family
from tinyrig.boards.jsonschema import SCHEMA_PATH, schema_text
from tinyrig.codegen.firmware import render_drivers

ROOT = Path(__file__).resolve().parents[2]


def _variant(tmp_path: Path, like: str, name: str, edits: list[tuple[str, str]]) -> Path:
    text = (ROOT / "boards" / f"{like}.toml").read_text().replace(f'name = "{like}"', f'name = "{name}"')
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def _error(path: Path) -> str:
    with pytest.raises(BoardError) as info:
        load_board(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_committed_json_schema_is_current():
    assert SCHEMA_PATH.read_text() == schema_text(), "run `tinyrig boards --json-schema`"
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["additionalProperties"] is False
    assert set(schema["$defs"]["ConsoleFile"]["properties"]["driver"]["enum"]) == set(available("uart"))
    assert set(schema["properties"]["family"]["enum"]) == set(family_names())


def test_driver_table_matches_the_templates():
    # Every UART template has its capabilities declared, and nothing else is declared.
    assert set(UART_KINDS) == set(UART_ROUTES_PINS) == set(UART_USES_ALTERNATE_FUNCTION) == set(available("uart"))
    for family in family_names():
        for driver in load_family(family).clock.drivers:
            assert driver in available("clock"), (family, driver)


def test_drivers_the_schema_offered_without_a_template_are_gone(tmp_path):
    for driver in ("stm32-lpuart", "nrf-uarte"):
        path = _variant(tmp_path, "qemu-mps2-an386", "my-board", [('driver = "cmsdk-uart"', f'driver = "{driver}"')])
        message = _error(path)
        assert f"field 'console.driver': is '{driver}'" in message and "stm32-usart-v2" in message


def test_l552_borrowing_l4_drivers_is_caught(tmp_path):
    """NUCLEO-L552ZE-Q copied from the U575 file, then pointed at the L4 drivers as a vendor did."""
    path = _variant(tmp_path, "nucleo-l552ze-q", "my-l552", [("clock_hz = 110_000_000", "clock_hz = 120_000_000")])
    message = _error(path)
    assert "field 'clock_hz': is 120000000" in message and "110000000" in message and "RM0438" in message
    path = _variant(tmp_path, "nucleo-l552ze-q", "my-l552", [("register = 0x42021400", "register = 0x48001400")])
    message = _error(path)
    assert "field 'timestamp_pin.register': is 0x48001400" in message and "0x42021400 (PF)" in message
    path = _variant(tmp_path, "nucleo-l552ze-q", "my-l552", [('family = "stm32l5"', 'family = "stm32l4plus"'),
                                                            ('clock_driver = "stm32l5"', 'clock_driver = "stm32l4plus"')])
    message = _error(path)
    assert "field 'core'" in message or "field 'pyocd_target'" in message


def test_l552_builds_with_its_own_family_data():
    board = load_board("nucleo-l552ze-q")
    sources = render_drivers(board)
    clock, uart = sources["src/clock.c"], sources["src/uart.c"]
    assert "#define RCC_BASE 0x40021000u" in clock and "#define WAIT_STATES 5u" in clock
    assert "#define VOS_VALUE 0u" in clock and "#define PLL_N 55u" in clock and "ICACHE_CR 0x40030400u" in clock
    assert "PWR_CR5" not in clock  # the L4+ boost register does not exist on the L5
    assert "#define GPIO_PORT(n) (0x42020000u + 0x400u * (n))" in uart
    assert "route_pin(6u, 7u, 8u, 0u)" in uart and "route_pin(6u, 8u, 8u, 1u)" in uart  # PG7/PG8 AF8
    assert "REG32(0x40007004u) |= (1u << 9)" in uart  # VDDIO2 for port G
    assert "#define UART_SEL_VALUE 2u" in uart and "#define UART_KERNEL_HZ 16000000u" in uart


def test_f746_pins_are_routed_or_rejected(tmp_path):
    """STM32F746G-DISCO copied from the F767 Renode board: the VCP is USART1 on PA9/PB7 (AF7)."""
    edits = [('description = "STM32F767ZI', 'description = "STM32F746NG'), ('pyocd_target = "stm32f767zi"', 'pyocd_target = "stm32f746nghx"'),
             ("clock_hz = 216_000_000", "clock_hz = 16_000_000"), ("hz = 216_000_000", "hz = 16_000_000"),
             ("base = 0x40004800   # USART3 (sysbus.usart3 in stm32f777.repl)", 'base = 0x40011000\ntx_pin = "PA9"\nrx_pin = "PB7"\nalternate_function = 7\nkernel_clock = "hsi"'),
             ("clock_hz = 54_000_000   # APB1 at 216 MHz / 4; Renode's STM32F7_USART uses its own `frequency`", ""),
             ('renode_platform = "platforms/boards/nucleo_f767zi.repl"', "")]
    board = load_board(_variant(tmp_path, "renode-nucleo-f767zi", "stm32f746g-disco", edits))
    uart = render_drivers(board)["src/uart.c"]
    assert "route_pin(0u, 9u, 7u, 0u)" in uart and "route_pin(1u, 7u, 7u, 1u)" in uart
    assert "#define UART_RCC_ENR 0x40023844u" in uart and "#define UART_RCC_SEL 0x40023890u" in uart
    # A pin USART1 does not have, an AF it is not on, and silicon without pins: one line each.
    bad_pin = _variant(tmp_path, "renode-nucleo-f767zi", "f746-bad", [e if "tx_pin" not in e[1] else (e[0], e[1].replace("PA9", "PA2")) for e in edits])
    assert "field 'console.tx_pin': is 'PA2'; USART1 TX on the stm32f7 family is one of: PA9 (AF7), PB6 (AF7)" in _error(bad_pin)
    bad_af = _variant(tmp_path, "renode-nucleo-f767zi", "f746-bad", [e if "alternate_function" not in e[1] else (e[0], e[1].replace("= 7", "= 8")) for e in edits])
    assert "field 'console.alternate_function': is 8; PA9 is USART1 on AF7" in _error(bad_af)
    no_pins = _variant(tmp_path, "renode-nucleo-f767zi", "f746-bad", [e if "tx_pin" not in e[1] else (e[0], "base = 0x40011000") for e in edits])
    assert "field 'console.tx_pin': is required on silicon" in _error(no_pins)
    hsi_lie = _variant(tmp_path, "renode-nucleo-f767zi", "f746-bad", [e for e in edits if "216" not in e[0]])
    assert "field 'clock_hz': is 216000000, but with clock_driver \"none\"" in _error(hsi_lie)


def test_l475_is_an_80_mhz_l4_with_split_sram(tmp_path):
    board = load_board("b-l475e-iot01a")
    assert board.clock_plan.wait_states == 4 and board.clock_plan.range.vos == 1
    assert [(r.name, r.base, r.size) for r in board.extra_ram] == [("sram2", 0x10000000, 32 << 10)]
    sources = render_drivers(board)
    assert "PWR_CR5" not in sources["src/clock.c"] and "#define FLASH_LATENCY_MASK 0x7u" in sources["src/clock.c"]
    linker = sources["linker.ld"]
    assert "SRAM2 (rwx) : ORIGIN = 0x10000000, LENGTH = 0x00008000" in linker and "} > SRAM2" in linker
    assert ".noinit (NOLOAD)" in linker
    too_fast = _variant(tmp_path, "b-l475e-iot01a", "my-l475", [("clock_hz = 80_000_000", "clock_hz = 120_000_000")])
    assert "field 'clock_hz': is 120000000; the stm32l4 family runs at most 80000000" in _error(too_fast)
    odd = _variant(tmp_path, "b-l475e-iot01a", "my-l475", [("clock_hz = 80_000_000", "clock_hz = 72_000_000"),
                                                          ("hz = 80_000_000", "hz = 72_000_000")])
    assert load_board(odd).clock_plan.pll.n == 36 and load_board(odd).clock_plan.wait_states == 4
    overlap = _variant(tmp_path, "b-l475e-iot01a", "my-l475", [("base = 0x10000000", "base = 0x20010000")])
    assert "field 'memory.extra.sram2'" in _error(overlap) and "overlaps memory.ram" in _error(overlap)


def test_every_hardware_wait_is_bounded():
    """No driver a silicon board renders polls a flag in an open loop."""
    for board in all_boards():
        if board.is_emulated:
            continue
        for rel, text in render_drivers(board).items():
            assert not re.search(r"while \(.*\)\s*\{\s*\}", text), (board.name, rel)


def test_timing_wait_states_must_be_what_the_clock_driver_programs(tmp_path):
    """A vendor who halves the clock of a copied board file but keeps its [timing] would get a
    prediction for flash wait states the part never runs with: refused, naming the driver's value."""
    path = _variant(tmp_path, "b-l475e-iot01a", "my-l475", [("flash_wait_states = 4", "flash_wait_states = 5")])
    message = _error(path)
    assert "field 'timing.flash_wait_states': is 5" in message and "programs 4" in message and "RM0351" in message
    path = _variant(tmp_path, "nucleo-l4r5zi", "my-l4r5", [("clock_hz = 120_000_000", "clock_hz = 80_000_000"),
                                                          ("hz = 120_000_000", "hz = 80_000_000")])
    message = _error(path)
    assert "field 'timing.flash_wait_states': is 5" in message and "programs 3" in message
    # Every shipped board with [timing] and a clock driver agrees with it.
    for board in all_boards():
        if board.timing and board.clock_plan and board.clock_plan.range and board.clock_driver != "none":
            assert board.timing.flash_wait_states == board.clock_plan.wait_states, board.name


# -- the QEMU machine emulates the board's core (boards/qemu_machines.py) ---------------------------

def test_qemu_machine_of_another_core_is_refused_on_load(tmp_path):
    """A vendor's M33 board copied from an505 with the machine set to an386 (an M4): before, it built
    and QEMU then died with signal 6, the run saying only 'connection lost'."""
    path = _variant(tmp_path, "qemu-mps2-an505", "vendor-m33",
                    [('qemu_machine = "mps2-an505"', 'qemu_machine = "mps2-an386"')])
    message = _error(path)
    assert "field 'emulator.qemu_machine'" in message and "'mps2-an386', which emulates a cortex-m4" in message
    assert "mps2-an505" in message, "names the machines that would do"


def test_qemu_cpu_other_than_the_core_is_refused(tmp_path):
    path = _variant(tmp_path, "qemu-mps2-an386", "vendor-m4",
                    [('qemu_machine = "mps2-an386"', 'qemu_machine = "mps2-an386"\nqemu_cpu = "cortex-m7"')])
    assert "field 'emulator.qemu_cpu': is 'cortex-m7'" in _error(path)


def test_cortex_m3_on_mps2_an385_loads(tmp_path):
    path = _variant(tmp_path, "qemu-mps2-an386", "vendor-m3",
                    [('core = "cortex-m4"', 'core = "cortex-m3"'), ('fpu = "fpv4-sp-d16"', 'fpu = "none"'),
                     ('qemu_machine = "mps2-an386"', 'qemu_machine = "mps2-an385"')])
    assert load_board(path).core == "cortex-m3"


def test_every_shipped_qemu_board_runs_its_own_core():
    from tinyrig.boards.qemu_machines import MACHINE_CORES

    emulated = [b for b in all_boards() if b.emulator.qemu_machine]
    assert emulated and all(MACHINE_CORES[b.emulator.qemu_machine] == b.core for b in emulated)


def test_a_typo_in_a_required_key_is_named_not_reported_missing(tmp_path):
    """`clock_hzz = ...` used to end in "field 'clock_hz': is required", which hides the line to fix."""
    path = _variant(tmp_path, "nucleo-l4r5zi", "vendor-l4", [("clock_hz = 120_000_000", "clock_hzz = 120_000_000"),
                                                            ("[timestamp_pin]", "[timestamp_pins]")])
    message = _error(path)
    assert "field 'clock_hzz': unknown field (did you mean 'clock_hz'?)" in message


def test_a_typo_in_a_required_table_is_named(tmp_path):
    path = _variant(tmp_path, "nucleo-l4r5zi", "vendor-l4", [("[timestamp_pin]", "[timestamp_pins]")])
    assert "field 'timestamp_pins': unknown field (did you mean 'timestamp_pin'?)" in _error(path)
