"""The int8 filter-pair words of the DSP CONV_2D run (smlad_layout.int8_pair_words): SXTB16
of a step word gives filter a's int16 pair, its raw halfwords read as int16 are 256 * b + a,
and the run's recovery of b's sum from the raw accumulator minus a's (int32 wrap-around, as
SMLAD does) is exact whenever raw_pair_encodable accepts the rows."""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.codegen.kernels.arm_dsp.smlad_layout import int8_pair_words, raw_pair_encodable


def _halves(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = words.astype(np.int64) & 0xFFFFFFFF
    lo, hi = u & 0xFFFF, u >> 16
    return (lo ^ 0x8000) - 0x8000, (hi ^ 0x8000) - 0x8000


def _sxtb16(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = words.astype(np.int64) & 0xFFFFFFFF
    b0, b2 = u & 0xFF, (u >> 16) & 0xFF
    return (b0 ^ 0x80) - 0x80, (b2 ^ 0x80) - 0x80


def _step_depths(depth: int) -> np.ndarray:
    """[step] -> (d0, d1): SXTB16 order, (v0, v2) then (v1, v3) per group of 4."""
    g = np.arange(depth // 4)
    return np.stack([np.stack([4 * g, 4 * g + 2], 1), np.stack([4 * g + 1, 4 * g + 3], 1)], 1).reshape(-1, 2)


def _wrap(v: np.ndarray) -> np.ndarray:
    return ((v + 2**31) % 2**32) - 2**31


def test_words_read_as_a_and_256b_plus_a():
    rng = np.random.default_rng(5)
    rows = rng.integers(-127, 128, size=(6, 36))
    rows[1, :4] = -127  # b at the int8 edge beside negative and positive a
    rows[0, :2], rows[0, 2:4] = -1, 1
    assert raw_pair_encodable(rows) is None
    words = int8_pair_words(rows)
    assert words.shape == (3, 18) and words.dtype == np.int32
    d = _step_depths(36)
    a, b = rows[0::2][:, d], rows[1::2][:, d]  # [pair][step][half]
    sa_lo, sa_hi = _sxtb16(words)
    assert np.array_equal(sa_lo, a[..., 0]) and np.array_equal(sa_hi, a[..., 1])
    lo, hi = _halves(words)
    assert np.array_equal(lo, 256 * b[..., 0] + a[..., 0]) and np.array_equal(hi, 256 * b[..., 1] + a[..., 1])


def test_b_recovered_exactly_at_the_bound():
    # Largest accepted sum of |b| with every input at -128: 256 x (b's sum) is just inside int32.
    depth = 512
    rows = np.zeros((2, depth), dtype=np.int64)
    rows[0] = -127
    rows[1] = 127
    rows[1, -1] = 127 - (np.abs(rows[1]).sum() * 128 * 256 >= 2**31)
    assert raw_pair_encodable(rows) is None
    words = int8_pair_words(rows)
    x = np.full(depth, -128)
    d = _step_depths(depth)
    sa_lo, sa_hi = _sxtb16(words[0])
    lo, hi = _halves(words[0])
    bias = 12345
    acc_a = _wrap(bias + np.sum(x[d[:, 0]] * sa_lo + x[d[:, 1]] * sa_hi))
    acc_raw = _wrap(bias + np.sum(x[d[:, 0]] * lo + x[d[:, 1]] * hi))
    diff = _wrap(acc_raw - acc_a)
    assert diff >> 7 == 2 * int(np.dot(x, rows[1]))  # the run's doubled b: (raw - a) asr 7


@pytest.mark.parametrize("rows,reason", [
    (np.array([[-3, 0, 0, 0], [-128, 0, 0, 0]]), "-128 beside a negative weight"),
    (np.array([np.zeros(600, int), np.full(600, 127)]), "too large"),
])
def test_unencodable_pairs_are_named(rows, reason):
    assert reason in raw_pair_encodable(rows)


def test_minus_128_beside_a_non_negative_weight_is_encodable():
    rows = np.array([[0, 5, 0, 0], [-128, -128, 0, 0]])
    assert raw_pair_encodable(rows) is None
    lo, _ = _halves(int8_pair_words(rows))
    assert lo[0, 0] == 256 * -128 and lo[0, 1] == 256 * -128 + 5
