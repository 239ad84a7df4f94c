"""Locating the shared MLPerf Tiny reference material and running the golden interpreter.

Used by tinyrig's engine tests. The material lives beside the repository
(`../shared/mlperf-tiny/` from the repository root) and is never copied into it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MLPERF_TINY = REPO_ROOT.parent / "shared" / "mlperf-tiny"
MODELS_DIR = MLPERF_TINY / "models"
SAMPLES_DIR = MLPERF_TINY / "samples"
REFERENCE_MODELS = ("kws01", "vww01", "ic01", "ad01", "sww01")


def reference_model_path(model_id: str) -> Path:
    path = MODELS_DIR / f"{model_id}.tflite"
    if not path.is_file():
        pytest.skip(f"MLPerf Tiny reference model not found at {path}")
    return path


def run_interpreter(model_path: Path, inputs: np.ndarray) -> np.ndarray:
    """Golden outputs [K, *output_shape] from the tflite-micro interpreter."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(model_path))
    outputs = []
    for sample in inputs:
        interpreter.set_input(sample, 0)
        interpreter.invoke()
        outputs.append(np.array(interpreter.get_output(0), copy=True))
    return np.stack(outputs)


def quantize_like_tflite(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float32 -> int8 as a device does before feeding an int8 model input:
    round(x / scale) half away from zero, plus the zero point, saturated."""
    quotient = np.asarray(values, dtype=np.float32) / np.float32(scale)
    rounded = np.sign(quotient) * np.floor(np.abs(quotient) + np.float32(0.5))
    return np.clip(rounded + zero_point, -128, 127).astype(np.int8)


def reference_samples(model_id: str, scale: float, zero_point: int) -> np.ndarray | None:
    """The real samples shipped for a model, as a batch of model inputs (None if none)."""
    if model_id == "kws01":
        path = SAMPLES_DIR / "kws01" / "ref_sample_kws.bin"
        if path.is_file():
            return np.frombuffer(path.read_bytes(), dtype=np.int8).reshape(1, -1)
    if model_id == "ad01":
        path = SAMPLES_DIR / "ad01" / "normal_id_01_00000000_hist_librosa.bin"
        if path.is_file():
            spectrogram = np.frombuffer(path.read_bytes(), dtype="<f4")
            windows = spectrogram[: spectrogram.size // 640 * 640].reshape(-1, 640)
            return quantize_like_tflite(windows, scale, zero_point)
    return None
