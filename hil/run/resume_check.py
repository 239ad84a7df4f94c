"""A resumed session measures the firmware it started with, or nothing.

`tinyrig run --resume` continues a benchmark from its last saved window. If the model file under
--models was replaced meanwhile, or tinyrig was upgraded and now generates other code, the windows
still to come would measure another firmware, and the medians, the bit-exactness count and the
recorded hashes would silently mix two of them (seen: kws01's 2,936,158 instructions per inference
in windows 0-1 and another model's 170,782 in windows 2-4, reported as one complete session).
These checks refuse that: the model before anything is built, the generated firmware once it is."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from tinyrig.codegen.tflite_reader import read_model_bytes
from tinyrig.hil.results.schema import BenchmarkEntry

if TYPE_CHECKING:
    from tinyrig.build.firmware_cache import Firmware


class FirmwareChangedError(ValueError):
    """The benchmark's firmware differs from the one its saved measurements were made with."""


def measured_anything(entry: BenchmarkEntry) -> bool:
    """Whether the session holds figures of this benchmark that a resume would add to."""
    return bool(entry.windows or entry.calibration is not None or entry.layers
                or (entry.accuracy and entry.accuracy.files) or (entry.energy and entry.energy.windows)
                or (entry.streaming and entry.streaming.streams))


def _what_was_measured(entry: BenchmarkEntry) -> str:
    if entry.windows:
        return f"its {len(entry.windows)} saved window(s)"
    if entry.energy and entry.energy.windows:
        return f"its {len(entry.energy.windows)} saved energy window(s)"
    if entry.accuracy and entry.accuracy.files:
        return f"its {len(entry.accuracy.files)} saved dataset file(s)"
    return "what the session saved of it"


def check_model_unchanged(benchmark_id: str, entry: BenchmarkEntry, model: Path) -> None:
    """Before anything builds: the model file is the one the saved figures were measured with."""
    if entry.firmware is None or not measured_anything(entry):
        return
    now = hashlib.sha256(read_model_bytes(model)).hexdigest()
    if now != entry.firmware.model_sha256:
        raise FirmwareChangedError(
            f"{benchmark_id}: the model {model} is not the one {_what_was_measured(entry)} ran (sha256 "
            f"{entry.firmware.model_sha256[:12]} then, {now[:12]} now); put that model back to resume, or start a "
            f"new session")


def check_firmware_unchanged(entry: BenchmarkEntry, firmware: "Firmware") -> None:
    """Once generated: the same model and the same generated sources (tinyrig itself may have changed).
    The run's failure line names the benchmark."""
    before = entry.firmware
    if before is None or not measured_anything(entry):
        return
    project = firmware.project
    if project.model_sha256 != before.model_sha256:
        raise FirmwareChangedError(
            f"the model is not the one {_what_was_measured(entry)} ran (sha256 "
            f"{before.model_sha256[:12]} then, {project.model_sha256[:12]} now); put that model back to resume, "
            f"or start a new session")
    if project.source_sha256 != before.source_sha256:
        raise FirmwareChangedError(
            f"this tinyrig generates other firmware than {_what_was_measured(entry)} ran (source "
            f"sha256 {before.source_sha256[:12]} then, {project.source_sha256[:12]} now: tinyrig or the board "
            f"file changed); resume with the tinyrig that started the session, or start a new session")
