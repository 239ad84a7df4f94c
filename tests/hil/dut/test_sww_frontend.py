"""The sww01 front end's tables and its numpy host reference (no emulator needed).

The firmware's features are compared with this reference byte for byte under QEMU in
test_sww_stream_qemu.py; here the reference itself is checked against the MLPerf Tiny
reference's feature chain written the plain way (float64 FFT, log10).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.codegen.audio_emit import audio_frontend_files
from tinyrig.codegen.audio_frontend import (
    F32,
    SPEC,
    build_tables,
    mel_weight_matrix,
    periodic_hamming,
    reference_quantize,
)
from tinyrig.hil.dut.audio_features import hop_sequence_features, model_windows, split_hops, stream_features

# sww01's input quantization (the reference model's).
SCALE, ZERO_POINT = 0.0037010426, -128


@pytest.fixture(scope="module")
def tables():
    return build_tables(SCALE, ZERO_POINT)


def plain_features(samples: np.ndarray) -> np.ndarray:
    """The reference's th_compute_lfbe_f32 chain in float64 with numpy's FFT, then its int8 step."""
    x = np.concatenate([np.zeros(SPEC.hop), samples.astype(np.float64)]) / 32768.0
    emphasised = x - (31 / 32) * np.concatenate([[0.0], x[:-1]])
    window = periodic_hamming(SPEC.window).astype(np.float64)
    mel = mel_weight_matrix().astype(np.float64)
    frames = []
    for i in range(len(samples) // SPEC.hop):
        segment = emphasised[SPEC.hop * i : SPEC.hop * i + SPEC.window] * window
        power = np.abs(np.fft.rfft(segment)) ** 2 / SPEC.window
        frames.append(reference_quantize((power @ mel).astype(F32), SCALE, ZERO_POINT))
    return np.array(frames)


def test_mel_filters_are_the_reference_ones(tables):
    # The reference firmware's packed 513x40 matrix: filter starts and lengths, 987 weights.
    assert tables.mel_starts[:10].tolist() == [1, 3, 6, 10, 13, 17, 20, 25, 29, 34]
    assert tables.mel_lengths[-6:].tolist() == [47, 50, 54, 57, 60, 64]
    assert len(tables.mel_weights) == 987
    assert np.all(tables.mel_weights > 0) and np.all(tables.mel_weights <= 1)


def test_thresholds_reproduce_the_reference_quantization(tables):
    """Searching the thresholds gives the reference's (log10-based) int8 for any mel energy:
    random energies over the whole range, and every threshold and the float just below it."""
    rng = np.random.default_rng(3)
    energies = (10.0 ** rng.uniform(-12, 4, 200_000)).astype(F32)
    edges = tables.thresholds
    below = np.nextafter(edges, F32(0))
    samples = np.concatenate([energies, edges, below, [F32(0.0), F32(1e-30), F32(3e38)]]).astype(F32)
    searched = np.searchsorted(edges, samples, side="right") - 128
    assert np.array_equal(searched, reference_quantize(samples, SCALE, ZERO_POINT))
    # Every int8 level is reachable and the levels rise with the energy.
    assert np.all(np.diff(edges) > 0) and len(edges) == 255


def test_host_reference_matches_the_plain_computation(tables):
    rng = np.random.default_rng(5)
    t = np.arange(16000 * 2) / 16000
    tone = 8000 * np.sin(2 * np.pi * (300 + 900 * t) * t)
    samples = np.clip(tone + rng.normal(0, 500, t.size), -32768, 32767).astype(np.int16)
    ours, plain = stream_features(samples, tables), plain_features(samples)
    assert ours.shape == (len(samples) // 512, 40)
    # Float32 rounding against float64 may move a level by one on a boundary; rarely.
    assert np.abs(ours.astype(int) - plain).max() <= 1
    assert np.mean(ours != plain) < 0.01
    assert ours.min() < -100 and ours.max() > 50  # the test signal spans the range


def test_dropped_hops_restart_the_window_from_the_last_processed_hop(tables):
    rng = np.random.default_rng(8)
    hops = split_hops(rng.integers(-3000, 3000, 512 * 12, dtype=np.int16), 512)
    kept = [0, 1, 2, 5, 6, 9]  # hops 3, 4, 7, 8 lost
    ours = hop_sequence_features(hops[kept], tables)
    # Equivalent contiguous stream: the processed hops played back to back.
    assert np.array_equal(ours, stream_features(hops[kept].reshape(-1), tables))
    assert not np.array_equal(ours[3], stream_features(hops.reshape(-1), tables)[5])


def test_model_windows_start_from_zero_features():
    features = np.arange(3 * 40, dtype=np.int16).reshape(3, 40).astype(np.int8)
    windows = model_windows(features, frames=30)
    assert windows.shape == (3, 30, 40)
    assert np.all(windows[0, :29] == 0) and np.array_equal(windows[0, 29], features[0])
    assert np.array_equal(windows[2, 27:], features)


def test_generated_c_tables_round_trip(tables):
    files = audio_frontend_files(SCALE, ZERO_POINT)
    assert set(files) == {"tinyrig_audio_tables.h", "tinyrig_audio_tables.c", "tinyrig_audio_frontend.h",
                          "tinyrig_audio_frontend.c"}
    source = files["tinyrig_audio_tables.c"]
    body = source.split("tinyrig_audio_thresholds[255] = {")[1].split("}")[0]
    values = np.array([F32(v.strip().rstrip("f")) for v in body.split(",")], dtype=F32)
    assert np.array_equal(values, tables.thresholds)  # every literal reads back as the same float32
