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
        out = np.empty(features.shape, dtype=np.int8)
        with np.errstate(all="ignore"):  # inf/NaN inputs are handled below, as the firmware does
            for i, x in enumerate(features):
                scaled = F32(x) / scale
                if np.isnan(scaled):
                    q = zero_point
                elif scaled >= 512:
                    q = 127
                elif scaled <= -512:
                    q = -128
                else:
                    q = (int(scaled - F32(0.5)) if scaled < 0 else int(scaled + F32(0.5))) + zero_point
                out[i] = min(127, max(-128, q))
        return out.reshape(shape)

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
            values = np.array([F32(int(q) - zero_point) * scale for q in y.reshape(-1)], dtype=np.float32)
        if self.benchmark.results == "mse":
            features = np.frombuffer(data, dtype="<f4")
            total = F32(0.0)
            with np.errstate(all="ignore"):  # inf/NaN inputs give inf/NaN, on the device too
                for out_v, in_v in zip(values, features):  # the firmware's order, one rounding per step
                    diff = F32(out_v) - F32(in_v)
                    total = F32(total + F32(diff * diff))
            return Expected(raw, [format_fixed3(F32(total / F32(len(features))))])
        return Expected(raw, [format_fixed3(v) for v in values])
