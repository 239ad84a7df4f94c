"""boards/board.schema.json: the board file's JSON Schema, generated from the pydantic models.

Editors use it for completion and checking while a board file is written (Even Better TOML / taplo
read the `#:schema ./board.schema.json` line at the top of a board file). `tinyrig boards
--json-schema` rewrites it; tests/boards/test_schema.py fails when the committed file is stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from .schema import BoardFile

SCHEMA_PATH = Path(__file__).resolve().parent / "board.schema.json"
SCHEMA_ID = "https://tinyrig.invalid/board.schema.json"


def board_json_schema() -> dict:
    schema = BoardFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_text() -> str:
    return json.dumps(board_json_schema(), indent=2, sort_keys=True) + "\n"


def write_json_schema(path: Path = SCHEMA_PATH) -> Path:
    path = Path(path)
    path.write_text(schema_text(), encoding="utf-8")
    return path
