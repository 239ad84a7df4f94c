"""sww01 over UART, for a board without an audio input: the runner's stream_wav_uart.py as a step.

Per hop of 512 samples, as stream_wav_uart.py sends it: `db load 1024`, the samples as
little-endian int16 bytes in `db <hex>` commands (512 bytes each, the reference DUT's 1028-char
command limit), then `extract_uart_stream`, which answers the hop's 40 features
(`m-features-[...]`) and the model's outputs (`m-activations-[...]`). Nothing is timed: the
host sends each hop when the DUT is ready for it, so there is no duty cycle or throughput (the
results.txt has the Accuracy line only, as the runner's file has when it recorded no duty cycle).

What this gives: the DUT's features checked byte for byte against the host reference, its outputs
against tflite-micro on its own features, and the detections the DUT's rule makes of its outputs
(output[0] above the reference threshold; the first hop is the origin, as the first-frame pulse),
placed at each hop's arrival time and scored as the runner scores the interface board's record.

The DUT's front end and feature history start from their reset state at boot (and carry from
one file to the next): the host reference follows the same sequence, so the check assumes a DUT
freshly reset (flashed, or powered up) before the run.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Callable

import numpy as np

from tinyrig.codegen.audio_frontend import SPEC, FrontEndTables
from tinyrig.codegen.firmware import REFERENCE_DETECT_PROBABILITY
from tinyrig.hil.dut.audio_features import hop_sequence_features, model_windows, split_hops
from tinyrig.hil.dut.audio_files import SAMPLE_RATE
from tinyrig.hil.dut.client import DutError
from tinyrig.hil.modes import sww_scoring
from tinyrig.hil.results.schema import StreamRecord

if TYPE_CHECKING:
    from tinyrig.hil.dut.client import Dut
    from tinyrig.hil.dut.reference import ReferenceModel

HOP_MS = SPEC.hop * 1000 // SAMPLE_RATE  # 32
UART_DB_BYTES = 512  # stream_wav_uart.py: (1028 - 4) // 2 bytes per `db` command
_VALUES_RE = {name: re.compile(rf"m-{name}-\[([^\]]*)\]") for name in ("features", "activations")}


def detect_threshold(reference: ReferenceModel) -> int:
    """The DUT's detection threshold on output[0] (codegen/firmware.py streaming_settings): the
    reference probability in the model's output quantization."""
    params = reference.output_details["quantization_parameters"]
    scale, zero_point = float(params["scales"][0]), int(params["zero_points"][0])
    return max(-128, min(127, int(np.floor(REFERENCE_DETECT_PROBABILITY / scale + zero_point + 1e-6))))


def parse_values(lines: list[str], name: str, count: int) -> np.ndarray:
    """`m-<name>-[+12, -3, ...]` from the answer, as int8 [count]."""
    match = next((m for m in map(_VALUES_RE[name].search, lines) if m), None)
    if match is None:
        raise DutError(f"no m-{name}-[...] in the answer", "extract_uart_stream", lines)
    try:
        values = [int(v) for v in match.group(1).split(",") if v.strip()]
    except ValueError:
        raise DutError(f"m-{name}-[...] is not a list of integers", "extract_uart_stream", lines) from None
    if len(values) != count or not all(-128 <= v <= 127 for v in values):
        raise DutError(f"m-{name}-[...] has {len(values)} values, expected {count} int8", "extract_uart_stream", lines)
    return np.array(values, dtype=np.int8)


def extract_hop(dut: Dut, hop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One hop through the DUT's UART path: its features and the model's outputs."""
    dut.load(np.asarray(hop, dtype="<i2").tobytes(), chunk_bytes=UART_DB_BYTES)
    lines = dut.command("extract_uart_stream")
    return parse_values(lines, "features", SPEC.mel_bins), parse_values(lines, "activations", 3)


def detections_ms(outputs: np.ndarray, threshold: int) -> list[int]:
    """Where the DUT's rule would pulse its detection pin: the first hop (the origin) and every hop
    with output[0] above the threshold, each at its hop's arrival (hop k has arrived at (k+1) hops)."""
    hits = [k for k in range(len(outputs)) if k == 0 or int(outputs[k, 0]) > threshold]
    return sww_scoring.interface_timestamps_ms([(k + 1) * HOP_MS / 1000 for k in hits])


def stream_over_uart(dut: Dut, samples: np.ndarray, entry: sww_scoring.TruthEntry, *, tables: FrontEndTables,
                     reference: ReferenceModel | None, threshold: int, before: tuple[np.ndarray, np.ndarray],
                     on_hop: Callable[[int, int], None] | None = None) -> tuple[StreamRecord, tuple[np.ndarray, np.ndarray]]:
    """One wav through the UART path. `before` is what earlier files of the run sent (their hops)
    and got (their features): the DUT's state carries over, and so does the host reference's.
    Returns the record and the new `before`."""
    started = time.monotonic()
    hops = split_hops(samples, SPEC.hop)
    if len(hops) < 1:
        raise ValueError(f"{entry.wav_file}: shorter than one hop ({SPEC.hop} samples)")
    features = np.zeros((len(hops), SPEC.mel_bins), dtype=np.int8)
    outputs = np.zeros((len(hops), 3), dtype=np.int8)
    for k, hop in enumerate(hops):
        features[k], outputs[k] = extract_hop(dut, hop)
        if on_hop is not None:
            on_hop(k + 1, len(hops))
    sent_before, got_before = before
    all_hops = np.concatenate([sent_before, hops])
    expected = hop_sequence_features(all_hops, tables)[len(sent_before):]
    features_equal = int(np.sum(np.all(expected == features, axis=1)))
    outputs_equal = None
    if reference is not None:
        windows = model_windows(np.concatenate([got_before, features]), SPEC.frames)[len(got_before):]
        outputs_equal = sum(reference.run(w.tobytes()).raw == o.tobytes() for w, o in zip(windows, outputs))
    timestamps = detections_ms(outputs, threshold)
    score = sww_scoring.score_detections(timestamps, entry.windows)
    record = StreamRecord(
        wav_file=entry.wav_file, length_s=entry.length_s or len(samples) / SAMPLE_RATE, audio_hops=len(hops),
        hops=len(hops), lost=0, detections_ms=timestamps, true_positives=list(score.true_positives),
        false_negatives=list(score.false_negatives), false_positives=list(score.false_positives),
        duty_cycle=None, period_s=None, processing_s=None, throughput=None,
        activations=[int(v) for v in outputs[:, 0]], features_equal=features_equal, outputs_equal=outputs_equal,
        checked_hops=len(hops), wall_s=time.monotonic() - started, detection_windows=[list(w) for w in entry.windows])
    return record, (all_hops, np.concatenate([got_before, features]))
