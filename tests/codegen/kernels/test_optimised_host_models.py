"""The optimised kernels' host fallbacks (the scalar paths of the arm_dsp and arm_mve
sources when built without the DSP or Helium extension) against tflite-micro.

Firmware always runs the assembly; these paths are what a host build of a model
compiled for a Cortex-M4 or M55 runs (and how the kernels' layouts were first checked),
so they must stay bit-exact and build warning-free with -Werror too.
"""

from __future__ import annotations


import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.hostbuild import HostModel

from tinyrig_testing.engine_reference_data import REFERENCE_MODELS, reference_model_path  # noqa: E402
from tinyrig_testing.fuzz_harness import in_child, run_tflm  # noqa: E402


@pytest.mark.parametrize("board_name", ("qemu-mps2-an386", "qemu-mps3-an547"))
@pytest.mark.parametrize("model_id", REFERENCE_MODELS)
def test_host_build_of_optimised_model_matches_tflite_micro(board_name, model_id, tmp_path):
    model = reference_model_path(model_id).read_bytes()
    compiled = compile_model(model, core=load_board(board_name).core)
    assert any(layer.variant not in (None, "reference") for layer in compiled.layers)
    host = HostModel.build(compiled, workdir=tmp_path)
    rng = np.random.default_rng([7, len(model)])
    shape = (3, *host.input_shape)
    if compiled.input.dtype == "int8":
        batch = rng.integers(-128, 128, size=shape).astype(np.int8)
    else:
        batch = rng.standard_normal(shape).astype(compiled.input.dtype)
    got = np.asarray(host.run(batch)).reshape(-1)
    want = np.asarray(in_child(run_tflm, model, [batch])).reshape(-1)
    assert np.array_equal(got, want), f"{model_id} on {board_name}: first differing {np.flatnonzero(got != want)[:5]}"
