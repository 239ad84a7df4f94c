"""The 2-D CONV_2D kernel in 2-pixel x 4-filter blocks on the band (DspBandQuadParams,
tinyrig_dsp_band_quad.cc) is bit-exact under QEMU against tflite-micro: strides 1 and 2, SAME and
VALID padding (the band's zero-point columns and rows), rows of an odd pixel count (the last pair
overlaps its neighbour), 4 to 64 filters, 4 to 64 input channels, 3x3, 2x2, 1x3 and 3x1 windows,
depths of 3 units (the first pass entered near its end) to 144 (8 passes), clamping activations,
per-tensor and per-channel quantisation; the build sized for a 1 KB flash cache (6-unit passes);
the host build's C++ path on the same models; seeded random 2-D chains. Which layers it declines,
and that its cost estimate leaves narrow rows of few filters to the 3x2 band path.

Small layers may be declined by the kernel's cycle estimate; the cases set it aside (`forced`): the
kernel is still the one built and run.
"""

from __future__ import annotations


import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.kernels.arm_dsp import band_quad

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import (check_host_bit_exact, check_model_bit_exact, conv_chain, conv_model_taking,
                                           layer_notes, symbol_sizes)

BOARD = "qemu-mps2-an386"
NOTE = "2x4 SMLAD block read in place"

# (input HxWxC, filters, kernel, stride, padding, activation, per_channel)
CASES = [
    # ic01's first block: 16 channels at stride 1, SAME (96-byte step, 36 units: 2 passes entered
    # at unit 1), 12 pixels a row
    ((10, 12, 16), 16, (3, 3), (1, 1), "SAME", "RELU", True),
    # stride 2, SAME, 64 filters, clamped: 7x7 outputs (rows of an odd count), 192-byte step
    ((13, 13, 16), 64, (3, 3), (2, 2), "SAME", "RELU6", True),
    # 4 channels, 4 filters, VALID: 7x9 outputs, 24-byte step, 9 units (entry at unit 10), per-tensor
    ((9, 11, 4), 4, (3, 3), (1, 1), "VALID", "NONE", False),
    # 64 channels (384-byte step, depth 576: 144 units, 8 passes entered at unit 1), 8 filters
    ((6, 8, 64), 8, (3, 3), (1, 1), "SAME", "NONE", True),
    # stride 2, VALID, 8 channels: 5x5 outputs, the band leaves the input's last column out
    ((12, 12, 8), 16, (3, 3), (2, 2), "VALID", "RELU", True),
    # a 2x2 window on 12 channels (48-byte step, 12 units), VALID, clamped: 7x8 outputs
    ((8, 9, 12), 8, (2, 2), (1, 1), "VALID", "RELU6", True),
    # a 1x3 window on 48 channels (one band row, 96-byte step), SAME, 9 pixels a row
    ((5, 9, 48), 4, (1, 3), (1, 1), "SAME", "NONE", True),
    # a 3x1 window on 4 channels: depth 12 (3 units: the first pass enters at unit 16), stride
    # (2, 2) SAME (48-byte step)
    ((11, 10, 4), 12, (3, 1), (2, 2), "SAME", "RELU", False),
]


@pytest.fixture
def forced(monkeypatch):
    """The 2x4 block for every layer it can run, whatever its cycle estimate says."""
    monkeypatch.setattr(band_quad, "_slower_than_band_pairs", lambda *args: None)


def _model(case: int) -> tuple[bytes, dict, int, str]:
    """The case's model for the first seed of a fixed range whose CONV_2D the kernel takes (random
    quantisations sometimes need the register-shift requantisation it declines)."""
    shape, filters, kernel, stride, padding, activation, per_channel = CASES[case]
    return conv_model_taking(range(700 + 50 * case, 740 + 50 * case), shape, lambda note: NOTE in note,
                             out_channels=filters, kernel=kernel, stride=stride, padding=padding,
                             activation=activation, per_channel=per_channel)


def _extremes(case: int) -> np.ndarray:
    """Every value -128, every value 127: the raw-word accumulators' largest sums."""
    shape = (1, *CASES[case][0])
    return np.stack([np.full(shape, -128), np.full(shape, 127)]).astype(np.int8)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_band_quad_bit_exact_under_qemu(forced, case, tmp_path):
    model, desc, seed, note = _model(case)
    assert f"({2 * CASES[case][2][0] * CASES[case][0][2] * CASES[case][3][1]} B a pixel)" in note, note
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path, extra_inputs=_extremes(case))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_band_quad_host_path_bit_exact(forced, case, tmp_path):
    """The C++ model of the run (a host build of the model compiled for a Cortex-M4)."""
    model, _, seed, _ = _model(case)
    check_host_bit_exact(compile_model(model, core=load_board(BOARD).core), model, seed, tmp_path)


def _chain(seed: int, shape: tuple, layers: list[dict]) -> tuple[bytes, dict]:
    return conv_chain(seed, shape, layers, dilation=(1, 1))


def _conv_notes(model: bytes) -> list[str]:
    return layer_notes(model, "CONV_2D", BOARD)


def test_band_quad_sized_for_a_flash_cache_bit_exact_under_qemu(forced, tmp_path):
    """nucleo-l4r5zi's 1 KB flash cache: the runs have 6-unit passes and fit it (18 units: about
    2 KB); depth 144 is 6 passes entered at unit 1, depth 72 3 passes entered at unit 1, depth 36
    (4 channels) 2 passes entered at unit 4."""
    layers = [dict(out_channels=16, kernel=(3, 3), stride=(1, 1), padding="SAME", activation="RELU"),
              dict(out_channels=8, kernel=(3, 3), stride=(2, 2), padding="SAME", activation="RELU6"),
              dict(out_channels=4, kernel=(3, 3), stride=(1, 1), padding="VALID", activation="NONE")]
    for seed in range(340, 380):
        model, desc = _chain(seed, (1, 9, 10, 16), layers)
        if all(NOTE in n for n in _conv_notes(model)):
            break
    else:
        pytest.fail("no seed puts the 3 layers on the kernel")
    firmware = check_model_bit_exact(BOARD, model, desc, seed, tmp_path, code_for="nucleo-l4r5zi")
    assert "-DTINYRIG_FLASH_ICACHE_BYTES=1024" in (tmp_path / "fw" / "platformio.ini").read_text()
    # The runs of the 3 pixel steps: 96 B (plain), 192 B (clamped), 64 B (plain).
    sizes = symbol_sizes(firmware.build.elf, r"\bband_quad_run(_clamp)?_\d+\(")
    assert len(sizes) == 3 and max(sizes) < 1024, sizes


def test_band_quad_random_layers_bit_exact_under_qemu(forced, tmp_path):
    """Seeded random 2-D chains (the kernel fuzz's random models rarely have whole groups of 4
    channels and filters and a pixel step with a run): 3x3, 2x2 or 1x3 windows, channels 4 to 32 in
    fours, strides 1-2, either padding, any activation and quantisation. The first 3 seeds from
    6100 whose models put at least 2 layers on the kernel."""
    checked = 0
    for seed in range(6100, 6160):
        rng = np.random.default_rng(seed)
        mb = tb.ModelBuilder(rng)
        channels = 4 * int(rng.choice([1, 2, 4, 8]))
        x = mb.input((1, int(rng.integers(3, 12)), int(rng.integers(3, 12)), channels))
        y = x
        for _ in range(2):
            y = tb.conv2d(mb, y, dilation=(1, 1), kernel=[(3, 3), (2, 2), (1, 3)][int(rng.integers(0, 3))],
                          out_channels=channels, stride=(int(rng.choice([1, 2])), int(rng.choice([1, 2]))),
                          padding=str(rng.choice(["SAME", "VALID"])))
        model, desc = tb.finish_model(mb, [x], y, seed=seed)
        if sum(NOTE in n for n in _conv_notes(model)) < 2:
            continue
        (tmp_path / str(seed)).mkdir()
        check_model_bit_exact(BOARD, model, desc, seed, tmp_path / str(seed))
        checked += 1
        if checked == 3:
            return
    pytest.fail(f"only {checked} of the random models put 2 layers on the kernel")


def _one_layer(shape, **conv) -> str:
    mb = tb.ModelBuilder(np.random.default_rng(331))
    x = mb.input(shape)
    y = tb.conv2d(mb, x, **conv)
    model, _ = tb.finish_model(mb, [x], y, seed=331)
    notes = _conv_notes(model)
    assert len(notes) == 1
    return notes[0]


def test_band_quad_declines_what_it_does_not_run(forced):
    base = dict(kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="SAME", activation="NONE", per_channel=False)
    assert NOTE in _one_layer((1, 8, 8, 16), out_channels=16, **base)
    # Channels or filters not whole groups of 4: conv.py's band path (3x2 block).
    assert "3x2 SMLAD block read in place" in _one_layer((1, 8, 8, 16), out_channels=6, **base)
    assert NOTE not in _one_layer((1, 8, 8, 6), out_channels=8, **base)
    # 1x1: the pointwise kernels.
    assert NOTE not in _one_layer((1, 8, 8, 16), out_channels=16, **{**base, "kernel": (1, 1), "padding": "VALID"})
    # Dilation, rows of one pixel, a pixel step without a run (3x3 on 20 channels: 120 B).
    assert NOTE not in _one_layer((1, 9, 9, 16), out_channels=16, **{**base, "dilation": (2, 2)})
    assert NOTE not in _one_layer((1, 8, 1, 16), out_channels=16, **base)
    assert NOTE not in _one_layer((1, 8, 8, 20), out_channels=16, **base)
    # Filters with all-zero weights: conv.py's live-filter wrapper skips them.
    note = _one_layer((1, 8, 8, 16), out_channels=16, zero_filters=(1, 5, 6), **base)
    assert NOTE not in note, note


def test_band_quad_leaves_narrow_layers_to_the_3x2_band_path():
    """Without `forced`: rows of 3 pixels (the 2x4 block would compute 4) with few filters stay on
    the 3x2 band path; ic01's shapes take the 2x4 block."""
    assert band_quad.band_quad_cycles(3, 3, 144, 4) > band_quad.band_pairs_cycles(3, 3, 144, 4)
    assert "3x2 SMLAD block read in place" in _one_layer(
        (1, 5, 5, 16), out_channels=4, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="VALID",
        activation="NONE", per_channel=False)
    for rows, width, depth, filters in ((32, 32, 144, 16), (16, 16, 144, 32), (8, 8, 576, 64)):
        assert band_quad.band_quad_cycles(rows, width, depth, filters) < band_quad.band_pairs_cycles(
            rows, width, depth, filters)
