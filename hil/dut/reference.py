"""The golden reference: what a correct DUT prints for an input, from the tflite-micro interpreter.

The interpreter gives the model's raw output bytes. What the firmware prints is derived from them
with single-precision arithmetic (input quantization for ad01, dequantization, the ad01
reconstruction error, three-decimal rounding); this module repeats each float32 step in the same
order, so the expected `m-results` text can be compared character for character.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyrig.benchmarks import Benchmark

F32 = np.float32


@dataclass
class Expected:
    raw: bytes  # the output tensor's bytes
    scores: list[str]  # the m-results values as the firmware prints them


def format_fixed3(x: np.float32) -> str:
    """The firmware's print_fixed3: scale by 1000 in float32, round half away from zero."""
    with np.errstate(all="ignore"):
        scaled = F32(x) * F32(1000.0)
    if np.isnan(scaled):
        return "nan"
    if abs(scaled) >= F32(9.0e18):
        return "-inf" if scaled < 0 else "inf"
    v = int(scaled - F32(0.5)) if scaled < 0 else int(scaled + F32(0.5))
    sign = "-" if v < 0 else ""
    v = abs(v)
    return f"{sign}{v // 1000}.{v % 1000:03d}"


class ReferenceModel:
    def __init__(self, model: Path | bytes, benchmark: Benchmark):
        from tflite_micro.python.tflite_micro import runtime  # heavy import, only when needed

        data = model if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()
        self.benchmark = benchmark
        self.model_bytes = bytes(data)  # what a worker process needs to build its own interpreter
        self.interpreter = runtime.Interpreter.from_bytes(bytes(data))
        self.input_details = self.interpreter.get_input_details(0)
        self.output_details = self.interpreter.get_output_details(0)

    @staticmethod
    def _quant(details: dict) -> tuple[np.float32, int]:
        params = details["quantization_parameters"]
        scales, zero_points = params["scales"], params["zero_points"]
        return (F32(scales[0]), int(zero_points[0])) if len(scales) else (F32(1.0), 0)

    def input_quantization(self) -> tuple[float, int]:
        scale, zero_point = self._quant(self.input_details)
        return float(scale), zero_point

    def model_input(self, data: bytes) -> np.ndarray:
        """The input tensor the firmware builds from the bytes the host sends."""
        shape = tuple(int(d) for d in self.input_details["shape"])
        dtype = self.input_details["dtype"]
        conversion = self.benchmark.conversion
        if conversion == "int8_copy":
            return np.frombuffer(data, dtype=np.int8).reshape(shape)
        if conversion == "uint8_minus_128":
            return (np.frombuffer(data, dtype=np.uint8).astype(np.int16) - 128).astype(np.int8).reshape(shape)
        features = np.frombuffer(data, dtype="<f4")
        if dtype == np.float32:
            return features.reshape(shape).astype(np.float32)
        scale, zero_point = self._quant(self.input_details)
        return quantize_like_firmware(features, scale, zero_point).reshape(shape)

    def run(self, data: bytes) -> Expected:
        x = self.model_input(data)
        self.interpreter.set_input(x, 0)
        self.interpreter.invoke()
        y = np.asarray(self.interpreter.get_output(0))
        raw = y.tobytes()
        if y.dtype == np.float32:
            values = y.reshape(-1).astype(np.float32)
        else:
            scale, zero_point = self._quant(self.output_details)
            # (q - zero point) is exact in float32; one float32 multiply per value, as on the device.
            values = (y.reshape(-1).astype(np.int32) - zero_point).astype(np.float32) * scale
        if self.benchmark.results == "mse":
            return Expected(raw, [format_fixed3(mean_squared_error_like_firmware(values, np.frombuffer(data, dtype="<f4")))])
        return Expected(raw, [format_fixed3(v) for v in values])


# The firmware's float32 steps, element-wise in numpy: each element gets the same IEEE float32
# operations in the same order as the device's loop (tests/hil/dut/test_reference_steps.py checks
# them against scalar loops), at a hundredth of a Python loop's cost: ad01 has 640 per window.

def quantize_like_firmware(features: np.ndarray, scale: np.float32, zero_point: int) -> np.ndarray:
    """th_load_tensor's quantization: x / scale in float32, round half away from zero, add the
    zero point, clamp; |x / scale| >= 512 (inf too) clamps first, NaN maps to the zero point."""
    with np.errstate(all="ignore"):
        scaled = features.astype(np.float32) / F32(scale)
        finite = ~np.isnan(scaled) & (np.abs(scaled) < F32(512.0))
        safe = np.where(finite, scaled, F32(0.0))
        rounded = np.trunc(np.where(safe < 0, safe - F32(0.5), safe + F32(0.5))).astype(np.int32) + zero_point
    q = np.where(np.isnan(scaled), zero_point, np.where(scaled >= 512, 127, np.where(scaled <= -512, -128, rounded)))
    return np.clip(q, -128, 127).astype(np.int8)


def mean_squared_error_like_firmware(values: np.ndarray, features: np.ndarray) -> np.float32:
    """ad01's score: sum += (out - in)^2 one float32 rounding per step, in order, then / n."""
    with np.errstate(all="ignore"):  # inf/NaN inputs give inf/NaN, on the device too
        diff = values.astype(np.float32) - features.astype(np.float32)
        squares = diff * diff
        # add.accumulate is a strictly sequential running sum in float32 (np.sum would pair terms up).
        total = np.add.accumulate(squares, dtype=np.float32)[-1] if len(squares) else F32(0.0)
        return F32(F32(total) / F32(len(features)))
