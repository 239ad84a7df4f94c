"""`tinyrig board new NAME --like BOARD`: a board file to start a port from, with its fields explained.

The new file is the template board's text (its comments cite where each value came from) with the
name changed, a header saying what still has to be checked, and a reference of every field generated
from the schema's descriptions. It loads as it is, so `tinyrig build --board PATH` works from the
first minute and each edit is checked against the family data.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from .jsonschema import SCHEMA_PATH
from .schema import Board, BoardError, BoardFile

NAME_PATTERN = r"[a-z0-9][a-z0-9._-]*"


def _field_reference(model: type[BaseModel], prefix: str = "") -> list[str]:
    lines = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        nested = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if nested is not None:
            lines.append(f"#   [{prefix}{name}]" + (f"  {info.description}" if info.description else ""))
            lines += _field_reference(nested, f"{prefix}{name}.")
            continue
        choices = getattr(annotation, "__args__", ()) if getattr(annotation, "__origin__", None) is not None else ()
        allowed = f" One of: {', '.join(map(str, choices))}." if choices and all(isinstance(c, str) for c in choices) else ""
        required = " (required)" if info.is_required() else ""
        lines.append(f"#   {prefix}{name}{required}: {info.description or ''}{allowed}".rstrip())
    return lines


def new_board_text(name: str, like: Board) -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise BoardError(f"board name {name!r}: use lower-case letters, digits, '.', '_' and '-'")
    text = like.path.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#:schema")) + "\n"
    text, count = re.subn(r'^name = ".*"$', f'name = "{name}"', text, count=1, flags=re.M)
    if not count:
        raise BoardError(f"{like.path}: no name line to replace")
    header = [
        f"#:schema {SCHEMA_PATH.as_uri()}",
        f"# Board file for {name}, started from {like.name} by `tinyrig board new`. Every value below is",
        f"# still {like.name}'s: check each against your part's reference manual, datasheet and board user",
        "# manual (docs/porting.md walks a port from datasheet to first m-ready). Loading this file checks it",
        f"# against the family data (boards/families/{like.family_name}.toml) and names any field the part does not allow.",
        "",
    ]
    reference = ["", "# Field reference (from tinyrig's board schema):"] + _field_reference(BoardFile)
    return "\n".join(header) + text + "\n".join(reference) + "\n"


def write_new_board(name: str, like: Board, directory: Path) -> Path:
    path = Path(directory) / f"{name}.toml"
    if path.exists():
        raise BoardError(f"{path}: already exists; pick another name or remove it")
    path.write_text(new_board_text(name, like), encoding="utf-8")
    return path
