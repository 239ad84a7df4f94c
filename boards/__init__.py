"""Board descriptions: the TOML files beside this module, loaded and validated."""

from __future__ import annotations

from pathlib import Path

from .schema import Board, BoardError, parse_board

BOARDS_DIR = Path(__file__).resolve().parent
DEFAULT_BOARD = "qemu-mps2-an386"

__all__ = ["Board", "BoardError", "DEFAULT_BOARD", "BOARDS_DIR", "board_names", "load_board", "all_boards",
           "is_board_path"]


def board_names() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.toml"))


def is_board_path(name_or_path: str | Path) -> bool:
    """A path to a board file of the user's own rather than the name of a shipped board."""
    text = str(name_or_path)
    return text.endswith(".toml") or "/" in text


def load_board(name_or_path: str | Path) -> Board:
    """A board by name (a file in boards/) or by path to a board file of the user's own."""
    text = str(name_or_path)
    if is_board_path(text):
        return parse_board(Path(text))
    candidate = BOARDS_DIR / f"{text}.toml"
    if not candidate.exists():
        raise BoardError(f"unknown board {text!r}; known boards: {', '.join(board_names())}")
    return parse_board(candidate)


def all_boards() -> list[Board]:
    return [load_board(name) for name in board_names()]
