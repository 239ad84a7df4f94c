"""Board files: every shipped board loads; invalid ones are rejected naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyrig.boards import BoardError, DEFAULT_BOARD, all_boards, board_names, load_board

SHIPPED = ["qemu-mps2-an386", "qemu-mps2-an500", "qemu-mps2-an505", "qemu-mps3-an547", "qemu-netduinoplus2"]


def test_shipped_boards_load():
    names = board_names()
    for name in SHIPPED:
        assert name in names
    boards = {b.name: b for b in all_boards()}
    an386 = boards[DEFAULT_BOARD]
    assert an386.core == "cortex-m4" and an386.emulator.qemu_machine == "mps2-an386"
    assert an386.flash.base == 0 and an386.ram.base == 0x20000000
    assert boards["qemu-netduinoplus2"].flash.size == 1 << 20
    assert boards["qemu-netduinoplus2"].ram.size == 128 << 10
    assert boards["qemu-mps3-an547"].has_helium
    an500 = boards["qemu-mps2-an500"]  # QEMU's AN500 is AN386's memory map with a Cortex-M7
    assert an500.core == "cortex-m7" and an500.has_dsp and (an500.flash, an500.ram) == (an386.flash, an386.ram)
    an505 = boards["qemu-mps2-an505"]  # a Cortex-M33 booting Secure: code and data at the Secure aliases
    assert an505.core == "cortex-m33" and an505.has_dsp and (an505.flash.base, an505.ram.base) == (0x10000000, 0x38000000)
    for board in boards.values():
        assert board.power.source.strip()


def _write(tmp_path: Path, text: str, name: str = "my-board") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def _valid_text() -> str:
    return load_board(DEFAULT_BOARD).path.read_text().replace('name = "qemu-mps2-an386"', 'name = "my-board"')


def test_valid_user_board_file(tmp_path):
    board = load_board(_write(tmp_path, _valid_text()))
    assert board.name == "my-board"


@pytest.mark.parametrize(
    "edit, field, allowed",
    [
        (('core = "cortex-m4"', 'core = "cortex-m5"'), "core", "cortex-m0plus"),
        (('driver = "cmsdk-uart"', 'driver = "uart9000"'), "console.driver", "cmsdk-uart"),
        (("clock_hz = 25_000_000", 'clock_hz = "fast"'), "clock_hz", "integer"),
        (('idle = "high"', 'idle = "sideways"'), "timestamp_pin.idle", "high"),
        (("supply_v = 3.0", "supply_v = -1.0"), "power.supply_v", ">= 0"),
        (("supply_v = 3.0", "supply_v = inf"), "power.supply_v", "finite"),
        (("active_current_a = 0.00275", "active_current_a = nan"), "power.active_current_a", "finite"),
        (("[timer]", "[timer]\nbogus = 1"), "timer.bogus", "allowed here"),
        # A renamed required key is named as the unknown field, with the one it resembles.
        (('source = "STM32L4R5xx', 'nosource = "STM32L4R5xx'), "power.nosource", "did you mean 'source'"),
    ],
)
def test_invalid_board_names_file_and_field(tmp_path, edit, field, allowed):
    old, new = edit
    text = _valid_text()
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(BoardError) as info:
        load_board(path)
    message = str(info.value)
    assert str(path) in message and f"'{field}'" in message and allowed in message


def test_name_must_match_file(tmp_path):
    with pytest.raises(BoardError, match="file is named"):
        load_board(_write(tmp_path, _valid_text(), name="other"))


def test_bad_toml_and_unknown_board(tmp_path):
    with pytest.raises(BoardError, match="not valid TOML"):
        load_board(_write(tmp_path, "name = ["))
    with pytest.raises(BoardError, match="unknown board 'nope'.*qemu-mps2-an386"):
        load_board("nope")
