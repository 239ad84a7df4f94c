"""Host reference of the sww01 audio front end: the firmware's features, byte for byte, in numpy.

The firmware (codegen/runtime/audio/tinyrig_audio_frontend.c) follows the MLPerf Tiny
streaming-wakeword reference's feature code; this module repeats each of its float32 operations
in the same order on the same generated constants (codegen/audio_frontend.py), vectorised over
hops, so the int8 features equal the device's exactly. numpy's float32 add, multiply and sqrt
are correctly rounded like the Cortex-M FPU's, and no sum here is left to numpy's own order.

    features = stream_features(samples, tables)       # int16 samples -> int8 [hops, 40]
"""

from __future__ import annotations

import numpy as np

from tinyrig.codegen.audio_frontend import F32, FrontEndTables

CHUNK_HOPS = 2048  # hops per vectorised batch: bounds memory on long recordings


def _fft_input(windows: np.ndarray, before: np.ndarray, tables: FrontEndTables) -> tuple[np.ndarray, np.ndarray]:
    """Pre-emphasis on integers, the pre-scaled window, the even/odd complex packing, bit reversal."""
    s = windows.astype(np.int32)
    previous = np.concatenate([before.astype(np.int32)[:, None], s[:, :-1]], axis=1)
    y = (32 * s - 31 * previous).astype(F32) * tables.window_scaled
    half = y.shape[1] // 2
    re = np.empty((y.shape[0], half), dtype=F32)
    im = np.empty((y.shape[0], half), dtype=F32)
    re[:, tables.bit_reverse] = y[:, 0::2]
    im[:, tables.bit_reverse] = y[:, 1::2]
    return re, im


def _fft(re: np.ndarray, im: np.ndarray, tables: FrontEndTables) -> None:
    """The firmware's radix-2 butterflies, stage by stage, in place."""
    hops, half = re.shape
    window = 2 * half
    a_re, b_re = re[:, 0::2].copy(), re[:, 1::2].copy()
    a_im, b_im = im[:, 0::2].copy(), im[:, 1::2].copy()
    re[:, 0::2], re[:, 1::2] = a_re + b_re, a_re - b_re
    im[:, 0::2], im[:, 1::2] = a_im + b_im, a_im - b_im
    size = 4
    while size <= half:
        step = size // 2
        stride = window // size
        j = np.arange(step)
        wr = tables.twiddles[j * stride, 0]
        wi = tables.twiddles[j * stride, 1]
        groups_re = re.reshape(hops, half // size, size)
        groups_im = im.reshape(hops, half // size, size)
        ar, br = groups_re[:, :, :step].copy(), groups_re[:, :, step:].copy()
        ai, bi = groups_im[:, :, :step].copy(), groups_im[:, :, step:].copy()
        tr = wr * br - wi * bi
        ti = wr * bi + wi * br
        groups_re[:, :, :step], groups_re[:, :, step:] = ar + tr, ar - tr
        groups_im[:, :, :step], groups_im[:, :, step:] = ai + ti, ai - ti
        size *= 2


def _power(re: np.ndarray, im: np.ndarray, tables: FrontEndTables) -> np.ndarray:
    hops, half = re.shape
    inv_n = F32(1.0) / F32(2 * half)
    power = np.empty((hops, half + 1), dtype=F32)
    dc = re[:, 0] + im[:, 0]
    nyquist = re[:, 0] - im[:, 0]
    magnitude = np.sqrt(dc * dc)
    power[:, 0] = (magnitude * magnitude) * inv_n
    zr, zi = re[:, 1:], im[:, 1:]
    nr, ni = re[:, :0:-1], im[:, :0:-1]  # bins half-1 .. 1: the mirror of k = 1 .. half-1
    even_r = (zr + nr) * F32(0.5)
    even_i = (zi - ni) * F32(0.5)
    odd_r = (zi + ni) * F32(0.5)
    odd_i = (nr - zr) * F32(0.5)
    c = tables.twiddles[1:half, 0]
    s = tables.twiddles[1:half, 1]
    xr = even_r + (c * odd_r - s * odd_i)
    xi = even_i + (c * odd_i + s * odd_r)
    magnitude = np.sqrt(xr * xr + xi * xi)
    power[:, 1:half] = (magnitude * magnitude) * inv_n
    power[:, half] = (nyquist * nyquist) * inv_n
    return power


def _mel_levels(power: np.ndarray, tables: FrontEndTables) -> np.ndarray:
    """Sequential dot products (step j of every filter at once), then the threshold search."""
    starts = tables.mel_starts.astype(np.int64)
    lengths = tables.mel_lengths.astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    energy = np.zeros((power.shape[0], len(starts)), dtype=F32)
    for j in range(int(lengths.max())):
        active = j < lengths
        weight = np.where(active, tables.mel_weights[np.minimum(offsets + j, len(tables.mel_weights) - 1)], F32(0.0))
        bins = power[:, np.where(active, starts + j, 0)]
        # An inactive filter adds +0 times a finite power: its sum is unchanged, as in the C loop.
        energy = energy + weight.astype(F32) * bins
    levels = np.searchsorted(tables.thresholds, energy, side="right")
    return (levels - 128).astype(np.int8)


def window_features(windows: np.ndarray, before: np.ndarray, tables: FrontEndTables) -> np.ndarray:
    """int8 [n, mel_bins] features of n windows (int16 [n, window]), each with the sample before it."""
    windows = np.asarray(windows, dtype=np.int16)
    before = np.asarray(before, dtype=np.int16)
    out = np.empty((windows.shape[0], len(tables.mel_starts)), dtype=np.int8)
    for first in range(0, windows.shape[0], CHUNK_HOPS):
        part = slice(first, first + CHUNK_HOPS)
        re, im = _fft_input(windows[part], before[part], tables)
        _fft(re, im, tables)
        out[part] = _mel_levels(_power(re, im, tables), tables)
    return out


def hop_sequence_features(hops: np.ndarray, tables: FrontEndTables) -> np.ndarray:
    """Features of hops processed in this order (int16 [m, hop]), starting from the reset state.

    The firmware's window is always [previous processed hop, this hop] and the pre-emphasis
    carries the last sample of the hop before that, so a sequence with gaps (dropped hops) is
    reproduced exactly by passing the hops that were processed.
    """
    hops = np.asarray(hops, dtype=np.int16)
    if hops.ndim != 2 or hops.shape[1] != tables.spec.hop:
        raise ValueError(f"hops must be int16 [n, {tables.spec.hop}], got shape {hops.shape}")
    silent = np.zeros((2, hops.shape[1]), dtype=np.int16)
    padded = np.concatenate([silent, hops])
    windows = np.concatenate([padded[1:-1], padded[2:]], axis=1)
    before = padded[:-2, -1]
    return window_features(windows, before, tables)


def split_hops(samples: np.ndarray, hop: int) -> np.ndarray:
    """Whole hops of a recording (a partial last hop is never delivered, as by the I2S DMA)."""
    samples = np.asarray(samples, dtype=np.int16).reshape(-1)
    count = len(samples) // hop
    return samples[: count * hop].reshape(count, hop)


def stream_features(samples: np.ndarray, tables: FrontEndTables) -> np.ndarray:
    """int8 [hops, mel_bins]: the features the firmware computes for every hop of a recording."""
    return hop_sequence_features(split_hops(samples, tables.spec.hop), tables)


def model_windows(features: np.ndarray, frames: int = 30) -> np.ndarray:
    """The model input after each hop: the last `frames` feature frames, oldest first; frames
    before the first hop are int8 zeros, as the reference's zero-filled input buffer."""
    features = np.asarray(features, dtype=np.int8)
    padded = np.concatenate([np.zeros((frames - 1, features.shape[1]), dtype=np.int8), features])
    index = np.arange(features.shape[0])[:, None] + np.arange(frames)[None, :]
    return padded[index]
