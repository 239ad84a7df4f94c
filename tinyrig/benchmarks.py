"""The MLPerf Tiny benchmarks: what the host sends, how the device reads it, what it answers.

One table, used by the firmware generator (input conversion, result printing) and by the bench
(input sizes, runner defaults, scoring). Figures follow the MLPerf Tiny reference set-up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    id: str
    task: str
    reference_file: str  # the file name in mlcommons/tiny's trained_models folders
    input_bytes: int  # bytes the host sends per input with `db`
    conversion: str  # int8_copy | uint8_minus_128 | float32_quantize
    results: str  # scores | mse
    # The MLPerf Tiny runner's `infer N W` (benchmark/runner/tests_performance.yaml and
    # tests_energy.yaml in mlcommons/tiny), sized for the reference board: on hardware tinyrig
    # starts from these and raises N until windows last 10 s (hil/modes/window_length.py).
    runner_iterations: int  # performance mode
    runner_warmup: int
    quality_metric: str  # top1 | auc
    quality_target: float
    # Class names in the order of the model's output (the dataset index's `class` column):
    # what the report's confusion matrix and the accuracy notes show instead of 0..N-1.
    class_names: tuple[str, ...] = ()
    energy_iterations: int | None = None  # energy mode (None: as in performance mode)
    energy_warmup: int | None = None
    # Streaming wakeword: the firmware also takes audio (start/stop, the UART path), computes
    # the features itself (codegen/audio_frontend.py) and signals detections on a pin.
    streaming: bool = False

    def class_name(self, index: int) -> str:
        """The class's name, or its number for a class the table does not name."""
        return self.class_names[index] if 0 <= index < len(self.class_names) else str(index)

    def runner_window(self, mode: str) -> tuple[int, int]:
        """The runner's (N, W) for a mode (accuracy mode always runs `infer 1 0`)."""
        if mode == "energy" and self.energy_iterations is not None:
            return self.energy_iterations, self.energy_warmup if self.energy_warmup is not None else self.runner_warmup
        if mode == "accuracy":
            return 1, 0
        return self.runner_iterations, self.runner_warmup

    @property
    def conversion_doc(self) -> str:
        return {
            "int8_copy": "the bytes are int8 features already and are copied as they are",
            "uint8_minus_128": "each uint8 byte minus 128 gives the int8 input",
            "float32_quantize": "little-endian float32 features, quantized with the input tensor's scale and zero point",
        }[self.conversion]


BENCHMARKS: dict[str, Benchmark] = {
    b.id: b
    for b in (
        Benchmark("kws01", "keyword spotting (DS-CNN)", "kws_ref_model.tflite", 490, "int8_copy", "scores", 70, 10, "top1", 0.90,
                  ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"),
                  energy_iterations=70, energy_warmup=10),
        Benchmark("vww01", "visual wake words (MobileNetV1 0.25)", "vww_96_int8.tflite", 27648, "uint8_minus_128", "scores", 20, 5, "top1", 0.80,
                  ("no person", "person"), energy_iterations=20, energy_warmup=5),
        Benchmark("ic01", "image classification (ResNet-8)", "pretrainedResnet_quant.tflite", 3072, "uint8_minus_128", "scores", 20, 0, "top1", 0.85,
                  ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
                  energy_iterations=20, energy_warmup=5),
        Benchmark("ad01", "anomaly detection (FC autoencoder)", "ad01_int8.tflite", 2560, "float32_quantize", "mse", 1500, 0, "auc", 0.85,
                  ("normal", "anomaly"), energy_iterations=1500, energy_warmup=10),
        # The runner streams sww01 (no `infer N W` windows); these apply only to tinyrig's windows.
        Benchmark("sww01", "streaming wakeword (1D DS-CNN)", "str_ww_ref_model.tflite", 1200, "int8_copy", "scores", 70, 10, "top1", 0.0,
                  ("wakeword", "silence", "other"), streaming=True),
    )
}

# The four benchmarks `--benchmark all` runs (streaming wakeword has its own flow: --mode streaming).
STANDARD_BENCHMARKS = ("kws01", "vww01", "ic01", "ad01")


class UnknownBenchmarkError(ValueError):
    pass


def get_benchmark(benchmark_id: str) -> Benchmark:
    try:
        return BENCHMARKS[benchmark_id]
    except KeyError:
        raise UnknownBenchmarkError(
            f"unknown benchmark {benchmark_id!r}; known: {', '.join(BENCHMARKS)}"
        ) from None


def expand_benchmarks(spec: str) -> list[Benchmark]:
    """`all`, one id, or a comma-separated list of ids."""
    if spec == "all":
        return [BENCHMARKS[b] for b in STANDARD_BENCHMARKS]
    return [get_benchmark(part.strip()) for part in spec.split(",") if part.strip()]
