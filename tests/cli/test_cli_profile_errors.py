"""`tinyrig profile` given a model it cannot compile or a firmware that does not fit: one line, the
statuses `generate`/`build` give (3 and 8). Before, a bad model ended in a ModelError traceback and a
link that overflowed RAM in status 1, a failed benchmark's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyrig_testing import hostile_models as hm
from tinyrig_testing import require_tools
from tinyrig_testing.hostile_support import assert_clear, invoke, tinyrig_cli

BOARDS = Path(__file__).resolve().parents[2] / "boards"
MODELS = {
    "empty": (lambda: b"", ["too short"]),
    "tanh": (lambda: hm.with_operator(hm.schema.BuiltinOperator.TANH), ["operator 12 (TANH)"]),
}


@pytest.mark.parametrize("case", sorted(MODELS))
def test_model_that_cannot_be_compiled(case, tmp_path):
    make, needles = MODELS[case]
    (tmp_path / "kws01.tflite").write_bytes(make())
    result = invoke("profile", "--benchmark", "kws01", "--models", tmp_path)
    assert_clear(result, 3, str(tmp_path / "kws01.tflite"), *needles)


@pytest.mark.qemu
def test_firmware_that_does_not_fit(tmp_path, models_dir):
    require_tools("arm-none-eabi-gcc")
    text = (BOARDS / "qemu-mps2-an386.toml").read_text().replace('name = "qemu-mps2-an386"', 'name = "an386-32k"')
    ram = text.index("[memory.ram]")
    size_line = text[text.index("size", ram):text.index("\n", text.index("size", ram))]
    board = tmp_path / "an386-32k.toml"
    board.write_text(text[:ram] + text[ram:].replace(size_line, "size = 0x00008000", 1))
    result = tinyrig_cli("profile", "--board", board, "--benchmark", "vww01", "--models", models_dir)
    assert_clear(result, 8, "RAM overflowed")
