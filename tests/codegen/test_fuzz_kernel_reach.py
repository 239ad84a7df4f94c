"""The QEMU kernel fuzzer (benchmarks/fuzz_kernels_qemu.py) only proves the kernels its random
models reach. These checks compile its models (no build, no QEMU) and require that the seeds it
starts from reach every optimised kernel registered for the Cortex-M4 (arm_dsp) and every Helium
kernel of the Cortex-M55, and each of their paths, so a generator change that stops reaching
one fails here instead of leaving that kernel silently untested."""

from __future__ import annotations

import pytest

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_reach import ReachCounter

# The fuzzer's op cycle and default first seed. 80 models reach every kernel (40 do on most windows
# of seeds, not all: band_quad, pointwise_quad and pointwise8 each take a layer in about 1 model of
# 10-15) and every path but RARE_PATHS, which take a layer in about 1 model of 100.
OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D")
FIRST_SEED, MODELS = 1000, 80
# The two 2x4 kernels' runs with passes (depths over 68) share one run of any depth, which
# test_dsp_patch_quad_qemu.py (depth 72) and test_dsp_pointwise_quad_qemu.py (depth 136) drive.
RARE_PATHS = {"arm_dsp:conv DspConvSparseParams rq3", "arm_dsp:conv DspConvSparseParams shift",
              "arm_dsp:pointwise_quad DspPointwiseQuadParams passes",
              "arm_dsp:patch_quad DspPatchQuadParams passes"}


@pytest.fixture(scope="module")
def fuzz_models() -> list[bytes]:
    return [tb.random_model(FIRST_SEED + i, op=OPS[i % len(OPS)], chain=True, shapes="kernels")[0]
            for i in range(MODELS)]


@pytest.mark.parametrize("core,family", [("cortex-m4", "arm_dsp"), ("cortex-m55", "arm_mve")])
def test_fuzz_models_reach_every_kernel_and_path(fuzz_models, core, family):
    reach = ReachCounter(core)
    for model in fuzz_models:
        reach.add(model)
    # On the M55 the DSP kernels only take what Helium declines, which these shapes rarely give.
    assert [name for name in reach.unreached() if name.startswith(family)] == [], reach.report()
    unreached = [path for path in reach.unreached_paths() if path.startswith(family)]
    assert set(unreached) <= RARE_PATHS, reach.report()


def test_the_old_draws_never_reached_the_2x4_blocks(fuzz_models):
    """Why shapes="kernels" exists: the original draws (channel counts mostly below 8) leave
    the Cortex-M4's 2x4-block kernels unreached over the same seeds."""
    reach = ReachCounter("cortex-m4")
    for i in range(MODELS):
        reach.add(tb.random_model(FIRST_SEED + i, op=OPS[i % len(OPS)], chain=True)[0])
    assert {"arm_dsp:pointwise_quad", "arm_dsp:band_quad"} <= set(reach.unreached())


def test_report_lists_unreached_kernels_with_zero(models_dir):
    reach = ReachCounter("cortex-m4")
    reached = reach.add((models_dir / "kws01.tflite").read_bytes())
    assert ("arm_dsp:pointwise_quad", "DspPointwiseQuadParams straight") in reached
    assert ("arm_dsp:depthwise", "DspDepthwiseLineParams s1 rq3") in reached
    lines = {line.split()[0]: line.split()[1] for line in reach.report().splitlines()}
    assert lines["arm_dsp:pointwise_quad"] == "4" and lines["arm_dsp:band_quad"] == "0"
    assert "arm_dsp:band_quad" in reach.unreached()
    assert "arm_dsp:depthwise DspDepthwiseConv2DParams" in reach.unreached_paths()


def test_unknown_shapes_are_refused():
    with pytest.raises(ValueError, match="shapes='kernel'"):
        tb.random_model(1, shapes="kernel")
