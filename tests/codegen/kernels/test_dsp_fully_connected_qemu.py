"""The int8-weight FULLY_CONNECTED kernel (tinyrig_dsp_fully_connected.cc fc_blocks) is
bit-exact under QEMU against tflite-micro on qemu-mps2-an386: depths that are and are not
multiples of 4 and of the 8-group trip (single groups first, then trips), output counts
with and without a partial last block, batches above 1, per-tensor (one shared requant
row) and per-channel quantization, with and without a clamping activation. The layout's
arithmetic (256 x the dot product, the adjusted odd bytes) is checked on the host too.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.kernels.arm_dsp.fully_connected import R_OFFSET, sxtb16_pair_bytes
from tinyrig.codegen.kernels.registry import Declined

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_model_bit_exact

NOTE = "1x5 int8 SXTB16/SMLAD rows"

# (seed, input shape, [fully-connected options]).
CASES = [
    (91, (1, 40), [dict(units=12, activation="NONE"), dict(units=7, activation="RELU")]),
    (92, (3, 37), [dict(units=9, activation="RELU6", per_channel=True), dict(units=4, activation="NONE")]),
    (93, (1, 70), [dict(units=17, activation="NONE", per_channel=True), dict(units=5, activation="RELU")]),
]


@pytest.mark.parametrize("seed,shape,layers", CASES)
def test_fully_connected_int8_rows_bit_exact_under_qemu(seed, shape, layers, tmp_path):
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = x
    for options in layers:
        y = tb.fully_connected(mb, y, mode="calibrated", **options)
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    info = [(layer.variant, layer.note) for layer in compile_model(model, core="cortex-m4").layers
            if layer.op == "FULLY_CONNECTED"]
    assert len(info) == len(layers) and all(v == "arm_dsp" and NOTE in n for v, n in info), info
    check_model_bit_exact("qemu-mps2-an386", model, desc, seed, tmp_path)


def _widened(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's P and R lanes for inputs a (length % 4 == 0)."""
    g = a.reshape(-1, 4).astype(np.int64)
    p = g[:, [1, 3]]
    r = 256 * g[:, [0, 2]] - g[:, [1, 3]] + R_OFFSET
    return p, r


def test_int8_layout_gives_256_times_the_dot_product():
    rng = np.random.default_rng(5)
    w = rng.integers(-127, 128, size=(3, 64))
    w[0, :4] = [-1, 127, -127, -127]  # odd weights next to negative even ones, at the ends
    stored = sxtb16_pair_bytes(w)
    assert stored.min() >= -128 and stored.max() <= 127
    for a in (rng.integers(-128, 128, size=64), np.full(64, -128), np.full(64, 127)):
        p, r = _widened(a)
        assert p.min() >= -32768 and r.min() >= -32768 and r.max() <= 32767
        u = stored.reshape(3, -1, 2, 2)  # [row][pair][lo byte, hi byte]
        halves = (u[..., 0] & 0xFF) + 256 * u[..., 1]  # each halfword as int16
        assert halves.min() >= -32768 and halves.max() <= 32767
        even = u[..., 0]
        acc = (halves * p[None]).sum(axis=(1, 2)) + (even * r[None]).sum(axis=(1, 2))
        assert np.array_equal(acc, 256 * (w @ a) + R_OFFSET * w[:, 0::2].sum(axis=1))


def test_int8_layout_declines_minus_128_after_a_negative_weight():
    with pytest.raises(Declined, match="-128"):
        sxtb16_pair_bytes(np.array([[-3, -128, 0, 0]]))
