"""The compiled engine against the tflite-micro interpreter on the five MLPerf Tiny models.

Each model is compiled once per module (host build) and must reproduce the
interpreter's output bytes exactly on 100+ seeded inputs plus the real samples.
The same generated code must also build warning-free for a Cortex-M4.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tinyrig_testing.engine_reference_data import (
    REFERENCE_MODELS,
    reference_model_path,
    reference_samples,
    run_interpreter,
)
from tinyrig.codegen.hostbuild import HostModel

RANDOM_INPUTS = 100
ARM_CXX = "arm-none-eabi-g++"
ARM_FLAGS = (
    "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
    "-O2", "-fno-exceptions", "-fno-rtti", "-std=c++17", "-Wall", "-Wextra", "-Werror",
)


@pytest.fixture(scope="module", params=REFERENCE_MODELS)
def built(request, tmp_path_factory):
    path = reference_model_path(request.param)
    host = HostModel.build(path, workdir=tmp_path_factory.mktemp(f"host-{request.param}"))
    return request.param, path, host


def seeded_inputs(shape: tuple[int, ...], zero_point: int, seed: int) -> np.ndarray:
    """RANDOM_INPUTS int8 inputs: mostly uniform, some narrow around the zero point
    (small accumulators), plus constant extremes that drive saturation."""
    rng = np.random.default_rng(seed)
    uniform = rng.integers(-128, 128, size=(RANDOM_INPUTS - 24, *shape), dtype=np.int64)
    narrow = np.clip(zero_point + rng.integers(-8, 9, size=(20, *shape)), -128, 127)
    extremes = np.stack([np.full(shape, v) for v in (-128, 127, zero_point, 0)])
    return np.concatenate([uniform, narrow, extremes]).astype(np.int8)


def test_bit_exact_on_seeded_random_inputs(built):
    model_id, path, host = built
    inputs = seeded_inputs(host.input_shape, host.compiled.input.zero_point,
                           seed=REFERENCE_MODELS.index(model_id))
    expected = run_interpreter(path, inputs).reshape((len(inputs), *host.output_shape))
    got = host.run(inputs)
    mismatched = [i for i in range(len(inputs)) if not np.array_equal(got[i], expected[i])]
    assert not mismatched, f"{model_id}: {len(mismatched)} of {len(inputs)} outputs differ, first {mismatched[:5]}"


def test_bit_exact_on_real_samples(built):
    model_id, path, host = built
    samples = reference_samples(model_id, host.compiled.input.scale, host.compiled.input.zero_point)
    if samples is None:
        pytest.skip(f"no real sample shipped for {model_id}")
    samples = samples.reshape((len(samples), *host.input_shape))
    expected = run_interpreter(path, samples).reshape((len(samples), *host.output_shape))
    np.testing.assert_array_equal(host.run(samples), expected)


def test_arena_within_ten_percent_of_lower_bound(built):
    model_id, _, host = built
    compiled = host.compiled
    assert compiled.arena_lower_bound > 0
    assert compiled.arena_bytes >= compiled.arena_lower_bound
    assert compiled.arena_bytes <= 1.10 * compiled.arena_lower_bound, (
        f"{model_id}: arena {compiled.arena_bytes} vs lower bound {compiled.arena_lower_bound}")


def test_builds_warning_free_for_cortex_m4(built, tmp_path):
    if shutil.which(ARM_CXX) is None:
        pytest.skip(f"{ARM_CXX} not installed")
    _, _, host = built
    host.compiled.write(tmp_path)
    sources = sorted(name for name in host.compiled.files if name.endswith(".cc"))
    for source in sources:
        result = subprocess.run([ARM_CXX, *ARM_FLAGS, "-I.", "-c", source, "-o", source + ".o"],
                                cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, f"{source}:\n{result.stderr}"
