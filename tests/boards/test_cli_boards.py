"""`tinyrig boards`, `tinyrig board new` and board errors on the command line."""

from __future__ import annotations

from click.testing import CliRunner

from tinyrig.boards import load_board
from tinyrig.cli import main


def test_boards_lists_each_file():
    result = CliRunner().invoke(main, ["boards"], terminal_width=400)
    assert result.exit_code == 0
    assert "b-l475e-iot01a" in result.output and "stm32l5" in result.output
    assert "nucleo-l552ze-q.toml" in result.output.replace("│", "").replace("\n", "").replace(" ", "")
    # The flash timing column says which boards `--predict` can time, and how their flash waits.
    tsv = CliRunner().invoke(main, ["boards", "--format", "tsv"]).output.splitlines()
    assert tsv[0].split("\t")[6] == "flash timing"
    rows = {line.split("\t")[0]: line.split("\t") for line in tsv[1:]}
    assert rows["nucleo-l4r5zi"][6] == "5 WS + cache" and rows["b-l475e-iot01a"][6] == "4 WS + cache"
    assert rows["nucleo-u575zi-q"][6] == "4 WS + cache" and rows["nucleo-l552ze-q"][6] == "5 WS + cache"
    assert rows["nucleo-h7a3zi-q"][6] == "6 WS + cache"
    assert rows["qemu-mps2-an386 (default)"][6] == "0 WS" and rows["nrf52840-dk"][6] == "-"


def test_board_new_writes_a_commented_file_that_loads(tmp_path):
    result = CliRunner().invoke(main, ["board", "new", "my-l552", "--like", "nucleo-l552ze-q", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    path = tmp_path / "my-l552.toml"
    text = path.read_text()
    assert text.startswith("#:schema file://") and "started from nucleo-l552ze-q" in text
    assert "#   console.tx_pin: TX pin the driver routes" in text
    board = load_board(path)
    assert board.name == "my-l552" and board.clock_hz == 110_000_000
    again = CliRunner().invoke(main, ["board", "new", "my-l552", "--like", "nucleo-l552ze-q", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_a_bad_board_file_is_one_error_line(tmp_path):
    CliRunner().invoke(main, ["board", "new", "my-l552", "--like", "nucleo-l552ze-q", "--dir", str(tmp_path)])
    path = tmp_path / "my-l552.toml"
    path.write_text(path.read_text().replace("clock_hz = 110_000_000", "clock_hz = 120_000_000", 1))
    result = CliRunner().invoke(main, ["generate", "--board", str(path), "--model", str(path), "--out", str(tmp_path / "p")],
                                terminal_width=400)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "field 'clock_hz': is 120000000" in lines[0] and "Traceback" not in result.output
