"""The rendered drivers write only registers and bits that exist, checked against the SVDs pyOCD ships.

pyOCD's builtin targets carry SVDs for the STM32L475 (STM32L4x5.svd), the RM0090 STM32F4 register
map (STM32F429x.svd: the F405/F407 registers the drivers touch are the same) and the nRF52840
(nrf52840.svd). For each, a board of that family runs its clock, UART and timestamp-pin drivers on
the host (tests/tinyrig_testing/svd_sim.py) and every access is checked; then the values that matter are
compared with the family data: wait states, PLL dividers, kernel clock, pin routing, baud divider.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.firmware import render_drivers

from tinyrig_testing.svd_sim import check_against_svd, final_field, load_pyocd_svd, run_drivers

pytest.importorskip("pyocd")
pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="needs the host C++ compiler")

ROOT = Path(__file__).resolve().parents[2]


def _f4_on_silicon(tmp_path: Path) -> Path:
    """The STM32F4 Discovery's board file as silicon would need it: HSI clock, USART1 on PB6/PB7."""
    text = (ROOT / "boards" / "renode-stm32f4-discovery.toml").read_text()
    text = text.replace('name = "renode-stm32f4-discovery"', 'name = "f407-silicon"')
    text = text.replace("clock_hz = 168_000_000", "clock_hz = 16_000_000").replace("hz = 168_000_000", "hz = 16_000_000")
    text = text.replace("clock_hz = 84_000_000   # APB2 at 168 MHz / 2; Renode's STM32_UART ignores BRR",
                        'tx_pin = "PB6"\nrx_pin = "PB7"')
    text = text[: text.index("[emulator]")] + text[text.index("[power]"):]
    path = tmp_path / "f407-silicon.toml"
    path.write_text(text)
    return path


def _accesses(board, svd: str, tmp_path: Path):
    registers = load_pyocd_svd(svd)
    accesses = run_drivers(render_drivers(board), registers, board.clock_hz, tmp_path)
    assert any(a.kind == "W" for a in accesses)
    assert check_against_svd(accesses, registers, reserved_may_be_cleared=board.soc_family == "nrf52") == []
    return accesses, registers


def test_stm32l475_drivers_match_pyocd_svd(tmp_path):
    board = load_board("b-l475e-iot01a")
    accesses, regs = _accesses(board, "STM32L4x5.svd", tmp_path)
    field = lambda reg, name: final_field(accesses, regs, reg, name)  # noqa: E731
    # 80 MHz = HSI16 / 4 x 40 / 2 in range 1 with 4 wait states (RM0351), PLL selected.
    assert field("FLASH.ACR", "LATENCY") == 4
    assert field("PWR.CR1", "VOS") == 1
    assert (field("RCC.PLLCFGR", "PLLSRC"), field("RCC.PLLCFGR", "PLLM"), field("RCC.PLLCFGR", "PLLN"),
            field("RCC.PLLCFGR", "PLLR"), field("RCC.PLLCFGR", "PLLREN")) == (2, 3, 40, 0, 1)
    assert field("RCC.CFGR", "SW") == 3 and field("RCC.CFGR", "HPRE") == 0
    # USART1 from HSI16 at 115200 baud on PB6/PB7 AF7; LED2 (PB14) an output.
    assert field("RCC.CCIPR", "USART1SEL") == 2 and field("RCC.APB2ENR", "USART1EN") == 1
    assert field("GPIOB.AFRL", "AFRL6") == 7 and field("GPIOB.AFRL", "AFRL7") == 7
    assert field("GPIOB.MODER", "MODER6") == 2 and field("GPIOB.MODER", "MODER7") == 2
    assert field("GPIOB.MODER", "MODER14") == 1 and field("RCC.AHB2ENR", "GPIOBEN") == 1
    usart_brr = next(a.new for a in accesses if a.kind == "W" and a.address == 0x4001380C)
    assert usart_brr == round(16_000_000 / 115_200)
    assert not any(a.address == 0x40007080 for a in accesses)  # no PWR_CR5: that is the L4+ only


def test_stm32f4_drivers_match_pyocd_svd(tmp_path):
    board = load_board(_f4_on_silicon(tmp_path))
    accesses, regs = _accesses(board, "STM32F429x.svd", tmp_path)
    field = lambda reg, name: final_field(accesses, regs, reg, name)  # noqa: E731
    assert field("RCC.APB2ENR", "USART1EN") == 1 and field("RCC.AHB1ENR", "GPIOBEN") == 1
    assert field("GPIOB.AFRL", "AFRL6") == 7 and field("GPIOB.MODER", "MODER7") == 2
    assert field("GPIOD.MODER", "MODER12") == 1  # the discovery's green LED as the timestamp pin
    assert next(a.new for a in accesses if a.kind == "W" and a.address == 0x40011008) == round(16e6 / 115200)


def test_nrf52840_drivers_match_pyocd_svd(tmp_path):
    board = load_board("nrf52840-dk")
    accesses, regs = _accesses(board, "nrf52840.svd", tmp_path)
    assert final_field(accesses, regs, "UART0.ENABLE", "ENABLE") == 4
    assert final_field(accesses, regs, "UART0.PSEL.TXD", "PIN") == 6
    assert final_field(accesses, regs, "UART0.BAUDRATE", "BAUDRATE") == 0x01D7E000  # 115200 in the PS table
