"""The silent-device deadline: the first window gets the cap, later ones the last window's pace
times the inferences asked times the margin, never under the floor nor over the cap."""

from __future__ import annotations

import pytest

from tinyrig.hil.modes.deadline import FLOOR_S, MARGIN, InferDeadline


def test_first_window_gets_the_cap():
    assert InferDeadline(900.0).timeout_s(3, 1) == 900.0


def test_later_windows_follow_the_last_pace():
    deadline = InferDeadline(900.0)
    deadline.observe(3, 1, wall_s=40.0)  # 10 s per inference
    assert deadline.timeout_s(3, 1) == pytest.approx(MARGIN * 4 * 10.0)
    assert deadline.timeout_s(30, 0) == 900.0  # capped
    deadline.observe(3, 1, wall_s=0.4)  # fast: the floor holds
    assert deadline.timeout_s(3, 1) == FLOOR_S


def test_floor_never_exceeds_the_cap():
    deadline = InferDeadline(5.0)
    deadline.observe(1, 0, wall_s=0.001)
    assert deadline.timeout_s(1, 0) == 5.0
