"""The streaming wakeword (sww01) audio front end: its parameters and constant tables.

MLPerf Tiny's sww01 model takes 30 frames of 40 log-mel filterbank energies. The DUT computes
one frame per hop of 512 samples (32 ms at 16 kHz) from a window of the last 1024 samples, as
the reference submission does (mlcommons/tiny benchmark/reference_submissions/streaming_wakeword,
`th_compute_lfbe_f32`), with the feature parameters of the training code
(benchmark/training/streaming_wakeword, `get_lfbe_func`):

  1. int16 -> float: s / 32768
  2. pre-emphasis x[n] - (1 - 2^-5) x[n-1], continuous across windows
  3. Hamming window, the *periodic* form (0.54 - 0.46 cos(2 pi n / 1024)) the reference
     firmware tabulates (training used the symmetric form; the two differ by < 0.22%)
  4. 1024-point real FFT, power |X|^2 / 1024 over bins 0..512
  5. 40 triangular mel filters over 0..8 kHz (TensorFlow's linear_to_mel_weight_matrix)
  6. 10 log10(max(mel, 1e-30)), + 52, / 64, clipped to [0, 1]
  7. to the model's int8 input: (int8)(feature / input_scale - 128), truncated as the C cast does

This module computes every table the firmware and the host reference share, so that both do
the same float32 operations on the same constants (byte-exact features, see
tinyrig.hil.dut.audio_features). Two deliberate reformulations, both exact:

  * steps 1-3 are done on integers: 32 s[n] - 31 s[n-1] is the pre-emphasised sample times
    2^20 exactly (it fits a float's 24-bit mantissa), so one multiply by window[n] * 2^-20
    gives the same float as the reference's three float steps;
  * steps 6-7 are a search in 255 sorted mel-energy thresholds: quantized value -128 + k is
    reached exactly when mel >= threshold[k]. The thresholds are found here by bisection over
    float32 values of the reference's own scalar chain (log10 in double, as its C code does),
    so the device needs no log10 and gives the reference's integer for every mel energy.

One deliberate departure: the reference casts values above 127 (features above
127.5 * input_scale ~ 0.94) to int8 by wrapping, which is undefined behaviour in C; here they
saturate at 127, as TFLite's quantizer would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

F32 = np.float32


@dataclass(frozen=True)
class FrontEndSpec:
    sample_rate: int = 16000
    window: int = 1024  # samples per analysis window (64 ms)
    hop: int = 512  # samples per new frame (32 ms)
    mel_bins: int = 40
    lower_hz: float = 0.0
    upper_hz: float = 8000.0
    preemphasis_num: int = 31  # coefficient 31/32 = 1 - 2^-5
    preemphasis_den: int = 32
    power_offset_db: float = 52.0
    log_floor: float = 1e-30
    frames: int = 30  # frames per model input

    @property
    def spectrum_bins(self) -> int:
        return self.window // 2 + 1

    @property
    def hop_seconds(self) -> float:
        return self.hop / self.sample_rate


SPEC = FrontEndSpec()


@dataclass(frozen=True)
class FrontEndTables:
    """Constants of the front end, as float32/int arrays exactly as the firmware stores them."""

    window_scaled: np.ndarray  # float32[window]: periodic Hamming x 2^-20 (see module doc)
    twiddles: np.ndarray  # float32[window/2, 2]: cos, -sin of 2 pi k / window
    bit_reverse: np.ndarray  # uint16[window/2]: 9-bit reversal for the 512-point complex FFT
    mel_starts: np.ndarray  # uint16[mel_bins]: first spectrum bin of each filter
    mel_lengths: np.ndarray  # uint16[mel_bins]: bins in each filter
    mel_weights: np.ndarray  # float32[sum(lengths)]: the filters' non-zero weights, packed
    thresholds: np.ndarray  # float32[255]: mel energy where the int8 feature reaches -127..127
    input_scale: float
    input_zero_point: int
    spec: FrontEndSpec = SPEC


def periodic_hamming(n: int) -> np.ndarray:
    return (0.54 - 0.46 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(F32)


def mel_weight_matrix(spec: FrontEndSpec = SPEC) -> np.ndarray:
    """[spectrum_bins, mel_bins] float32 triangles, as TensorFlow's linear_to_mel_weight_matrix
    builds them (HTK mel scale 1127 ln(1 + f/700), the DC bin zeroed)."""

    def hz_to_mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)

    linear = np.linspace(0.0, spec.sample_rate / 2.0, spec.spectrum_bins)[1:]
    bins_mel = hz_to_mel(linear)[:, None]
    edges = np.linspace(hz_to_mel(spec.lower_hz), hz_to_mel(spec.upper_hz), spec.mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.vstack([np.zeros((1, spec.mel_bins)), weights]).astype(F32)


def pack_mel(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    starts, lengths, packed = [], [], []
    for column in matrix.T:
        nonzero = np.flatnonzero(column)
        first, last = int(nonzero[0]), int(nonzero[-1])
        starts.append(first)
        lengths.append(last - first + 1)
        packed.append(column[first : last + 1])
    return (np.array(starts, dtype=np.uint16), np.array(lengths, dtype=np.uint16),
            np.concatenate(packed).astype(F32))


def bit_reverse_table(n: int) -> np.ndarray:
    bits = n.bit_length() - 1
    return np.array([int(f"{i:0{bits}b}"[::-1], 2) for i in range(n)], dtype=np.uint16)


def reference_quantize(mel: np.ndarray, input_scale: float, input_zero_point: int,
                       spec: FrontEndSpec = SPEC) -> np.ndarray:
    """Steps 6-7 as the reference C code computes them, one float32 rounding per C statement:
    the floor compare and log10 in double, the offset and scale in float, the division by the
    input scale in float, then truncation toward zero (saturated to int8, see module doc)."""
    mel = np.asarray(mel, dtype=F32)
    floored = np.where(mel.astype(np.float64) > spec.log_floor, mel, F32(spec.log_floor)).astype(F32)
    with np.errstate(divide="ignore"):
        db = (10.0 * np.log10(floored.astype(np.float64))).astype(F32)
    shifted = (db + F32(spec.power_offset_db)).astype(F32)
    scaled = (shifted * F32(1.0 / 64.0)).astype(F32)
    clipped = np.clip(scaled, F32(0.0), F32(1.0)).astype(F32)
    real = (clipped / F32(input_scale) - F32(-input_zero_point)).astype(F32)
    return np.clip(np.trunc(real), -128, 127).astype(np.int32)


def quantization_thresholds(input_scale: float, input_zero_point: int, spec: FrontEndSpec = SPEC) -> np.ndarray:
    """threshold[k-1] = the smallest non-negative float32 mel energy whose feature is >= -128 + k.

    Bisection over the bit patterns of non-negative floats (their order is the numeric order),
    all 255 levels at once; the chain is monotonic, which is checked at every threshold.
    """
    targets = np.arange(-127, 128, dtype=np.int32)
    lo = np.zeros(targets.shape, dtype=np.int64)  # a pattern below the threshold (0.0 maps to -128)
    hi = np.full(targets.shape, 0x7F7FFFFF, dtype=np.int64)  # the largest finite float: maps to 127

    def level(patterns: np.ndarray) -> np.ndarray:
        return reference_quantize(patterns.astype(np.uint32).view(F32), input_scale, input_zero_point, spec)

    if np.any(level(hi) < targets) or np.any(level(lo) >= targets):
        raise ValueError(f"input scale {input_scale} / zero point {input_zero_point}: some int8 levels are unreachable")
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        reached = level(mid) >= targets
        hi = np.where(reached, mid, hi)
        lo = np.where(reached, lo, mid)
    if np.any(level(hi) < targets) or np.any(level(hi - 1) >= targets) or np.any(np.diff(hi) < 0):
        raise ValueError("the reference feature chain is not monotonic around a threshold")
    return hi.astype(np.uint32).view(F32)


def build_tables(input_scale: float, input_zero_point: int, spec: FrontEndSpec = SPEC) -> FrontEndTables:
    half = spec.window // 2
    shift = spec.preemphasis_den * (1 << 15)  # s / 32768 times 32: the integer pre-emphasis scale
    k = np.arange(half)
    angle = 2.0 * np.pi * k / spec.window
    starts, lengths, weights = pack_mel(mel_weight_matrix(spec))
    return FrontEndTables(
        window_scaled=(periodic_hamming(spec.window) / F32(shift)).astype(F32),
        twiddles=np.stack([np.cos(angle), -np.sin(angle)], axis=1).astype(F32),
        bit_reverse=bit_reverse_table(half),
        mel_starts=starts,
        mel_lengths=lengths,
        mel_weights=weights,
        thresholds=quantization_thresholds(input_scale, input_zero_point, spec),
        input_scale=float(F32(input_scale)),
        input_zero_point=int(input_zero_point),
        spec=spec,
    )
