"""Older results.json documents brought up to the current schema on read (never rewritten in place).

Each step takes a document of version N to N + 1 and only adds what the newer version records:
figures that can be derived from what the old document holds are derived (the runner's accuracy
figures from the per-file scores, energy validity from the recorded validity checks), anything
else is left to its default.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from tinyrig.hil.results.runner_metrics import runner_accuracy

CURRENT = 2


def _accuracy_v1_to_v2(entry: dict[str, Any]) -> None:
    acc = entry.get("accuracy")
    if not isinstance(acc, dict) or not isinstance(acc.get("summary"), dict):
        return
    summary = acc["summary"]
    summary.pop("extra", None)  # always empty in version 1
    files = [f for f in acc.get("files") or [] if isinstance(f, dict)]
    if files and all(isinstance(f.get("score"), list) and f["score"] for f in files):
        summary["runner_top1_percent"], summary["runner_auc"] = runner_accuracy(
            [f["score"] for f in files], [f.get("label") for f in files])


def _energy_v1_to_v2(entry: dict[str, Any]) -> None:
    energy = entry.get("energy")
    if not isinstance(energy, dict):
        return
    for summary in (energy.get("summary"), entry.get("summary")):
        if isinstance(summary, dict) and isinstance(summary.get("validity"), dict) and "valid" not in summary:
            summary["valid"] = all(summary["validity"].values()) and entry.get("emulated") is False


def v1_to_v2(document: dict[str, Any]) -> dict[str, Any]:
    benchmarks = document.get("benchmarks")
    for entry in benchmarks.values() if isinstance(benchmarks, dict) else ():  # else validation names it
        if not isinstance(entry, dict):
            continue
        entry.setdefault("status", "pending")
        _accuracy_v1_to_v2(entry)
        _energy_v1_to_v2(entry)
    document["schema_version"] = 2
    return document


STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: v1_to_v2}


def migrate(document: dict[str, Any], source: str) -> dict[str, Any]:
    """A copy of `document` at the current version (the document itself if it is current)."""
    from tinyrig.hil.results.schema import ResultsFileError

    version = document.get("schema_version")
    if version == CURRENT:
        return document
    if not isinstance(version, int) or isinstance(version, bool):
        raise ResultsFileError(f"{source}: not a tinyrig results file (no schema_version)")
    if version > CURRENT:
        raise ResultsFileError(f"{source}: written by a newer tinyrig (schema {version}); this one reads up to "
                               f"schema {CURRENT}: upgrade tinyrig")
    if version not in STEPS:
        raise ResultsFileError(f"{source}: unknown results schema {version}")
    document = copy.deepcopy(document)
    while document["schema_version"] != CURRENT:
        document = STEPS[document["schema_version"]](document)
    return document
