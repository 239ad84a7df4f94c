"""The reference's vectorized float32 steps equal the firmware's scalar loops element for element."""

import numpy as np

from tinyrig.hil.dut.reference import F32, mean_squared_error_like_firmware, quantize_like_firmware


def scalar_quantize(features, scale, zero_point):
    """th_load_tensor's loop, one float32 step at a time (the order the device runs it in)."""
    out = []
    with np.errstate(all="ignore"):
        for x in features:
            scaled = F32(x) / F32(scale)
            if np.isnan(scaled):
                q = zero_point
            elif scaled >= 512:
                q = 127
            elif scaled <= -512:
                q = -128
            else:
                q = (int(scaled - F32(0.5)) if scaled < 0 else int(scaled + F32(0.5))) + zero_point
            out.append(min(127, max(-128, q)))
    return np.array(out, dtype=np.int8)


def scalar_mse(values, features):
    total = F32(0.0)
    with np.errstate(all="ignore"):
        for out_v, in_v in zip(values, features):
            diff = F32(out_v) - F32(in_v)
            total = F32(total + F32(diff * diff))
        return F32(total / F32(len(features)))


def edge_features(scale):
    rng = np.random.default_rng(7)
    ties = (np.arange(-140, 140) + 0.5) * scale  # exact .5 after the division: rounding direction
    near_clamp = np.array([511.99, 512.0, 512.01, -511.99, -512.0, -512.01, 1e30, -1e30]) * scale
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])
    spread = rng.normal(0, 60 * scale, 2000)
    return np.concatenate([ties, near_clamp, special, spread]).astype(np.float32)


def test_quantize_equals_scalar_loop():
    for scale, zero_point in [(0.3917, -12), (1.0, 0), (0.0625, 127), (0.021, -128)]:
        features = edge_features(scale)
        got = quantize_like_firmware(features, F32(scale), zero_point)
        assert np.array_equal(got, scalar_quantize(features, scale, zero_point)), (scale, zero_point)


def test_mse_equals_scalar_loop_bit_for_bit():
    rng = np.random.default_rng(3)
    for _ in range(50):
        values = rng.normal(0, 10, 640).astype(np.float32)
        features = (values + rng.normal(0, 3, 640)).astype(np.float32)
        got, want = mean_squared_error_like_firmware(values, features), scalar_mse(values, features)
        assert got.tobytes() == want.tobytes()
    with_nan = np.array([1.0, np.nan, 2.0], dtype=np.float32)
    assert np.isnan(mean_squared_error_like_firmware(with_nan, np.zeros(3, np.float32)))
