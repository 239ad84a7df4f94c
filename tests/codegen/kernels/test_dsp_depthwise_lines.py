"""The DSP depthwise line kernel (arm_dsp/depthwise.py, tinyrig_dsp_depthwise.cc) beyond
the shapes test_dsp_fast_paths_qemu.py covers:

* its 3-instruction requantisation (SMMULR by M, done as SMMLAR(a, 2M - 2^32, a) on the
  half accumulator a, then SMMLAR by 2^(32 - e) + 1 adding the zero point) against TFLM's
  arithmetic in Python integers, inside and at the edge of the range
  depthwise._line_requant accepts, and a case outside it that really differs;
* the channels that take the one-at-a-time form instead, and the lines too long for the
  accumulator buffer's 512-byte boundary (declined to the ring kernel);
* under QEMU, lines whose accumulator buffer is exactly 512 bytes (the MAC loop's end is
  the buffer's start plus 512) at both strides.

Short output rows (at most 6 MAC steps) run the plane kernel instead (DspDepthwisePlaneParams,
test_dsp_depthwise_plane.py); its notes also say "planar SMLAD lines" ("... in bands of N").
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.kernels.specialize_common import tflm_requantize

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_model_bit_exact

BOARD = "qemu-mps2-an386"


def _smmlar(a: int, b: int, acc: int) -> int:
    """SMMLAR in Python integers: acc + round(a * b / 2^32), wrapped to int32."""
    return ((acc + ((a * b + 2**31) >> 32)) + 2**31) % 2**32 - 2**31


def _line_requant(acc: int, multiplier: int, right: int, zero_point: int) -> int:
    h = _smmlar(acc, multiplier, 0)
    return max(-128, min(127, _smmlar(h, (1 << (32 - right)) + 1, zero_point)))


def _rdbp(x: int, e: int) -> int:
    """TFLM's RoundingDivideByPOT."""
    mask = (1 << e) - 1
    return (x >> e) + int((x & mask) > (mask >> 1) + int(x < 0))


@pytest.mark.parametrize("right", [2, 3, 7, 11, 12, 20, 30])
def test_second_multiply_is_rdbp_inside_the_range(right):
    """|H| < 2^(32 - e): SMMLAR(H, 2^(32 - e) + 1, zp) = RDBP(H, e) + zp, ties of both signs included."""
    rng = np.random.default_rng(right)
    limit = 2 ** (32 - right) - 1
    ties = [k * 2**right + 2 ** (right - 1) * s for k in range(-3, 4) for s in (-1, 1)]
    values = [0, 1, -1, limit, -limit, *ties, *rng.integers(-limit, limit + 1, 4000).tolist()]
    for h in (v for v in values if abs(v) <= limit):
        for zp in (-128, 0, 37):
            assert _smmlar(h, (1 << (32 - right)) + 1, zp) == _rdbp(h, right) + zp, (h, right, zp)


@pytest.mark.parametrize("right", [2, 5, 11])
def test_large_h_saturates_the_same_for_small_shifts(right):
    """e <= 11: any int32 H beyond the range still gives TFLM's saturated result."""
    rng = np.random.default_rng(100 + right)
    values = [-(2**31), 2**31 - 1, *rng.integers(-(2**31), 2**31, 4000).tolist()]
    for h in values:
        want = max(-128, min(127, _rdbp(h, right) - 5))
        assert max(-128, min(127, _smmlar(h, (1 << (32 - right)) + 1, -5))) == want, (h, right)


def test_large_h_with_a_large_shift_can_differ():
    """Why depthwise._line_requant bounds |H| for e >= 12: beyond 2^(32-e) the H / 2^32 term
    moves a result that does not saturate."""
    right = 15
    h = -(2**17) - 2**14 + 1  # just above a tie: RDBP rounds to -4
    assert _rdbp(h, right) == -4
    assert _smmlar(h, (1 << (32 - right)) + 1, 0) == -5


def test_first_multiply_doubles_the_half_accumulator():
    """The kernel accumulates a = acc' / 2 (no SADD16 on the weights): SMMLAR(a, 2M - 2^32, a)
    is SMMULR(2a, M), for every M the fused epilogue accepts and every a whose double fits int32."""
    rng = np.random.default_rng(11)
    multipliers = [2**30 + 1, 2**31 - 1, *rng.integers(2**30 + 1, 2**31, 200).tolist()]
    halves = [0, 1, -1, 2**30 - 1, -(2**30), *rng.integers(-(2**30), 2**30, 200).tolist()]
    for multiplier in multipliers:
        factor = 2 * multiplier - 2**32
        assert -(2**31) <= factor < 0
        for a in halves:
            assert _smmlar(a, factor, a) == _smmlar(2 * a, multiplier, 0), (a, multiplier)


def test_full_chain_matches_tflm():
    """Accumulators through SMMULR then SMMLAR equal TFLM's MultiplyByQuantizedMultiplier
    (left shift 0: the kernel's acc' is 2 * acc) plus zero point, saturated."""
    rng = np.random.default_rng(7)
    for _ in range(20000):
        multiplier = int(rng.integers(2**30 + 1, 2**31))
        right = int(rng.integers(2, 12))
        zp = int(rng.integers(-128, 128))
        acc = int(rng.integers(-(2**24), 2**24))
        want = tflm_requantize(acc, multiplier, -right, zp, -128, 127)
        assert _line_requant(2 * acc, multiplier, right, zp) == want, (acc, multiplier, right, zp)


def _depthwise_model(seed: int, shape, stride, activation="NONE", padding="SAME"):
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = tb.depthwise_conv2d(mb, x, kernel=(3, 3), stride=stride, dilation=(1, 1), depth_multiplier=1,
                            padding=padding, activation=activation)
    return (*tb.finish_model(mb, [x], y, seed=seed), x)


def _depthwise_notes(model: bytes) -> list[str]:
    layers = compile_model(model, core=load_board(BOARD).core).layers
    return [layer.note for layer in layers if layer.op == "DEPTHWISE_CONV_2D"]


@pytest.mark.parametrize("seed", [63, 68])
def test_clamped_activation_takes_the_one_at_a_time_form(seed):
    """The same layer (seed) without and with an activation that narrows the int8 range."""
    notes = []
    for activation in ("NONE", "RELU_N1_TO_1"):
        model, _, _ = _depthwise_model(seed, (1, 5, 9, 4), (1, 1), activation=activation)
        notes += _depthwise_notes(model)
    assert "3-instruction requantisation" in notes[0], notes
    assert "4 of 4 channels requantised one at a time" in notes[1], notes


@pytest.mark.parametrize("shape,stride,kernel", [
    ((1, 3, 130, 4), (1, 1), "SMLAxy on widened row ring"),   # 130 outputs: 65 steps, 520 B
    ((1, 3, 128, 4), (1, 1), "planar SMLAD lines"),          # 128 outputs: 512 B, the limit
    ((1, 3, 258, 4), (1, 2), "SMLAxy on widened row ring"),   # 129 outputs at stride 2: 516 B
])
def test_lines_longer_than_the_accumulator_boundary_are_declined(shape, stride, kernel):
    model, _, _ = _depthwise_model(62, shape, stride)
    notes = _depthwise_notes(model)
    assert len(notes) == 1 and kernel in notes[0], notes


@pytest.mark.parametrize("seed,shape,stride", [
    (63, (1, 4, 128, 5), (1, 1)),   # 64 steps: 512 B of accumulators, lines along rows
    (64, (1, 256, 3, 6), (2, 1)),   # transposed, 128 outputs at stride 2: 512 B
])
def test_lines_at_the_accumulator_boundary_bit_exact_under_qemu(seed, shape, stride, tmp_path):
    model, desc, _ = _depthwise_model(seed, shape, stride, padding="VALID" if stride == (2, 1) else "SAME")
    notes = _depthwise_notes(model)
    assert len(notes) == 1 and "planar SMLAD lines" in notes[0], notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


@pytest.mark.parametrize("seed,shape,stride", [
    (63, (1, 3, 15, 4), (1, 1)),    # the clamped layer above, on rows too long for the plane kernel
    (68, (1, 13, 4, 4), (2, 1)),    # transposed, stride 2, clamped
])
def test_clamped_lines_bit_exact_under_qemu(seed, shape, stride, tmp_path):
    """The line kernel's clamped path (test_dsp_depthwise_plane.py has the plane kernel's)."""
    model, desc, _ = _depthwise_model(seed, shape, stride, activation="RELU_N1_TO_1")
    notes = _depthwise_notes(model)
    assert len(notes) == 1 and "4 of 4 channels requantised one at a time" in notes[0], notes
    assert "bands of" not in notes[0], notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


@pytest.mark.parametrize("seed,shape,stride", [
    (65, (1, 7, 11, 13), (1, 1)),   # 3 groups of 4 channels and a tail (odd group count > 1)
    (66, (1, 9, 4, 12), (2, 1)),    # transposed, stride 2 along, 3 groups, no tail
    (67, (1, 3, 40, 12), (1, 2)),   # runs longer than the group count (column words inside)
    (69, (1, 4, 5, 4), (1, 1)),     # one group: runs of 1 column word (no lookahead) and of 2
    (71, (1, 4, 3, 8), (1, 1)),     # two groups, runs of 1 column word: one lookahead group
])
def test_widening_odd_group_counts_bit_exact_under_qemu(seed, shape, stride, tmp_path):
    """The widening runs two groups (or column words) a trip and enters an odd count at
    the second; both loop orders with 3 groups. Each group (column word) but a run's last
    loads the next one's input words between its stores; the last loads nothing. Rows of
    at most 12 outputs (seeds 65 and 69) run the plane kernel, whose 8-slot ring widens
    through the same runs (TINYRIG_WIDEN_RUN_FN, another column-word step)."""
    model, desc, _ = _depthwise_model(seed, shape, stride)
    notes = _depthwise_notes(model)
    assert len(notes) == 1 and "planar SMLAD lines" in notes[0], notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)
