"""The Helium planar depthwise path's schedules, bit-exact with tflite-micro under
QEMU on qemu-mps3-an547.

The planar path runs each channel's outputs in groups of 4 windows from a per-layer
schedule: flat runs whose groups straddle the shared pad between plane lines (lanes
that are no output store where a later group overwrites them), line-by-line runs
whose last group overlaps the one before it or holds fewer than 4 outputs, and a
last group whose idle lanes are predicated off. Planes are filled in passes of up to
`group` channels, copied 16, 8 or fewer channels of a pixel at a time. These models
are built so that each of those cases occurs; the geometry asserts say which.
"""

from __future__ import annotations


import numpy as np

from tinyrig_testing import tflite_builder as tb  # noqa: E402
from tinyrig_testing.kernel_checks import check_model_bit_exact
from tinyrig_testing.kernel_checks import HELIUM_BOARD as BOARD, helium_notes

from tinyrig.codegen.kernels.arm_mve.depthwise import _planar_geometry  # noqa: E402


def geometry(size, out, channels, filter=(3, 3), stride=(1, 1), pad=(1, 1)):
    return _planar_geometry(dict(filter_h=filter[0], filter_w=filter[1], output_h=out[0], output_w=out[1],
                                 stride_h=stride[0], stride_w=stride[1], pad_top=pad[0], pad_left=pad[1],
                                 output_c=channels, input_h=size[0], input_w=size[1]))


def _dw(mb, x, kernel, stride, padding, activation):
    return tb.depthwise_conv2d(mb, x, kernel=kernel, stride=stride, dilation=(1, 1), depth_multiplier=1,
                               padding=padding, activation=activation, mode="calibrated")


def test_planar_schedules_cover_the_cases():
    """The shapes of the models below take the schedule cases they are meant to."""
    big = geometry((24, 20), (24, 20), 44)  # 2 plane passes: 40 channels (16 + 16 + 8), then 4
    assert big["group"] == 40 and big["final_mask"] == 0xFFFF
    outputs = {o for row in big["schedule"].tolist() for o in row[2:]}
    assert outputs == {44 * i for i in range(24 * 20)}  # every output, stored at least once
    tall = geometry((25, 9), (25, 9), 20)  # lines down the columns: 13 pairs a line (the last overlapping)
    assert tall["along_y"] == 1 and len(tall["schedule"]) == (13 * 9 + 1) // 2
    assert tall["schedule"][-1].tolist()[2:4] == tall["schedule"][-1].tolist()[4:]  # an odd last pair, twice
    flat = geometry((7, 5), (7, 5), 20, filter=(3, 1), pad=(1, 0))  # no pad along the lines: one flat run
    assert len(flat["schedule"]) == 9  # 35 windows in 18 pairs (the last overlapping)
    column = geometry((15, 1), (1, 1), 9, filter=(15, 1), pad=(0, 0))  # 1 output: idle lanes
    assert len(column["schedule"]) == 1 and column["final_mask"] == 0x0F0F
    # A pair's two windows are one gather of their union where it has at most 16 bytes
    # (3x3: 12 at stride 1, 15 at stride 2; 10x1 and 15x1 down a column: 11 and 16);
    # else a gather per window (5x3: 18 or 20).
    assert big["union_taps"] == tall["union_taps"] == column["union_taps"] == 1
    assert geometry((24, 20), (12, 10), 44, stride=(2, 2), pad=(0, 0))["union_taps"] == 1
    assert geometry((15, 1), (6, 1), 9, filter=(10, 1), pad=(0, 0))["union_taps"] == 1
    assert geometry((12, 10), (8, 8), 44, filter=(5, 3), pad=(0, 0))["union_taps"] == 0


def test_planar_schedule_idle_lanes():
    """Lanes whose window is no output store over a later group's first real output,
    or are predicated off in the last group."""
    from tinyrig.codegen.kernels.arm_mve.depthwise import _schedule

    table, mask = _schedule([(0, [10, None]), (4, [None, 20]), (8, [30, None])])
    assert table.tolist() == [[0, 4, 10, 30, 30, 20], [8, 8, 30, 0, 30, 0]]
    assert mask == 0x0F0F


def _force_flat_runs(monkeypatch):
    """Flat runs straddling the pad between lines (never fewer pairs than line by line
    for a padded map, so forced here) have idle lanes in every group."""
    from tinyrig.codegen.kernels.arm_mve import depthwise as mve_depthwise

    monkeypatch.setattr(mve_depthwise, "_fewest", lambda options: options[-1])


def test_planar_flat_runs_and_passes_bit_exact(tools, tmp_path):
    """3x3 stride 1 SAME on 24x20x44 (two plane passes: 40 channels copied 16, 16 and 8
    a pixel, then a quad), then 3x3 stride 2 SAME (12x10 outputs), then a 5x3 VALID
    stride-1 filter (8x8 outputs); and 3x3 stride 1 SAME on 26x9x20 (a flat run down the
    columns, copied 16 then 4 channels a pixel; an odd last pair); then a 3x1 SAME filter
    on 7x5x20, one flat run along the rows."""
    seed = 71
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 24, 20, 44))
    y = _dw(mb, x, (3, 3), (1, 1), "SAME", "RELU6")
    y = _dw(mb, y, (3, 3), (2, 2), "SAME", "NONE")
    y = _dw(mb, y, (5, 3), (1, 1), "VALID", "RELU")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = helium_notes(model, "DEPTHWISE_CONV_2D")
    assert all("planar" in n for n in notes), notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)

    seed = 74
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 25, 9, 20))
    y = _dw(mb, x, (3, 3), (1, 1), "SAME", "NONE")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    assert all("along columns" in n for n in helium_notes(model, "DEPTHWISE_CONV_2D"))
    (tmp_path / "tall").mkdir()
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path / "tall")

    seed = 76
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 7, 5, 20))
    y = _dw(mb, x, (3, 1), (1, 1), "SAME", "RELU6")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    assert [n.split(", ")[-1] for n in helium_notes(model, "DEPTHWISE_CONV_2D")] == ["9 groups of 4 per channel"]
    (tmp_path / "flat").mkdir()
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path / "flat")


def test_planar_short_lines_and_tall_filters_bit_exact(tools, tmp_path, monkeypatch):
    """6x6x13 through 3x3 stride 2 SAME (3 outputs a line), then 3x3 stride 1 SAME on the
    3x3 map, both as flat runs over the plane (idle lanes stored over by a later group,
    predicated off in the last); then a column: 10x1 VALID (filters taller than the
    ring's 8 rows) to 6x1 and 6x1 VALID to a single output per channel."""
    _force_flat_runs(monkeypatch)
    seed = 72
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 6, 6, 13))
    y = _dw(mb, x, (3, 3), (2, 2), "SAME", "NONE")
    y = _dw(mb, y, (3, 3), (1, 1), "SAME", "RELU")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = helium_notes(model, "DEPTHWISE_CONV_2D")
    assert [n.split(", ")[-1] for n in notes] == ["3 groups of 4 per channel"] * 2, notes  # 11 windows
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)
    monkeypatch.undo()

    seed = 73
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 15, 1, 9))
    y = _dw(mb, x, (10, 1), (1, 1), "VALID", "NONE")
    y = _dw(mb, y, (6, 1), (1, 1), "VALID", "RELU6")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = helium_notes(model, "DEPTHWISE_CONV_2D")
    assert all("planar" in n for n in notes), notes
    (tmp_path / "column").mkdir()
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path / "column")


def test_planar_interleaved_bit_exact(tools, tmp_path):
    """Channels in whole 16s whose windows reach 63 plane positions at most take planes
    interleaved 4 channels a byte: 20x24x48 through 3x3 stride 1 SAME (passes of 32
    and 16 channels), 3x3 stride 2 SAME (10x12) and 3x3 stride 1 VALID (8x10); and 9x7x48 in
    one pass (32 channels a copy step, then 16)."""
    first = geometry((20, 24), (20, 24), 48)
    assert first["interleave"] == 4 and first["group"] == 32 and first["stride_along"] == 4
    assert geometry((24, 20), (24, 20), 44)["interleave"] == 1  # 44 channels
    assert geometry((48, 48), (48, 48), 16)["interleave"] == 1  # the union reaches 101 positions
    seed = 77
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 20, 24, 48))
    y = _dw(mb, x, (3, 3), (1, 1), "SAME", "RELU6")
    y = _dw(mb, y, (3, 3), (2, 2), "SAME", "NONE")
    y = _dw(mb, y, (3, 3), (1, 1), "VALID", "RELU")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    assert all("planes of 4 channels" in n for n in helium_notes(model, "DEPTHWISE_CONV_2D"))
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)

    # One pass of 48 channels: copied 32 then 16 a pixel, lines down the columns.
    assert geometry((9, 7), (9, 7), 48)["group"] == 48
    seed = 78
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 9, 7, 48))
    y = _dw(mb, x, (3, 3), (1, 1), "SAME", "NONE")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    assert all("planes of 4 channels" in n for n in helium_notes(model, "DEPTHWISE_CONV_2D"))
    (tmp_path / "one_pass").mkdir()
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path / "one_pass")
