"""Which benchmarks of a session disagree with the tflite-micro interpreter, in words.

A run whose device computes other outputs than the reference has measured the wrong thing,
however good its latency: `tinyrig run` names such benchmarks and exits with its own status.
"""

from __future__ import annotations


def _performance(entry: dict) -> str | None:
    windows = entry.get("windows") or []
    checked = [w for w in windows if w.get("expected_scores") is not None]
    scores_differ = sum(1 for w in checked if w.get("scores") != w.get("expected_scores"))
    raw = [w for w in windows if w.get("bit_exact") is not None]
    bytes_differ = sum(1 for w in raw if not w["bit_exact"])
    if not scores_differ and not bytes_differ:
        return None
    parts = []
    if scores_differ:
        parts.append(f"scores differ in {scores_differ} of {len(checked)} windows")
    if bytes_differ:
        parts.append(f"output bytes differ in {bytes_differ} of {len(raw)} windows")
    return "the device disagrees with tflite-micro: " + ", ".join(parts)


def _accuracy(entry: dict) -> str | None:
    summary = (entry.get("accuracy") or {}).get("summary") or {}
    checked, exact = summary.get("checked") or 0, summary.get("bit_exact") or 0
    if checked and exact < checked:
        return f"the device disagrees with tflite-micro on {checked - exact} of {checked} inputs"
    return None


def _energy(entry: dict) -> str | None:
    summaries = [entry.get("summary") or {}, (entry.get("energy") or {}).get("summary") or {}]
    if any(s.get("scores_match_reference") is False for s in summaries):
        return "the device's scores differ from tflite-micro's in the energy windows"
    return None


def disagreements(results: dict) -> dict[str, str]:
    """{benchmark: what differs} for the completed benchmarks whose outputs differ from the reference."""
    check = {"performance": _performance, "accuracy": _accuracy, "energy": _energy}.get(results.get("mode"))
    found = {}
    for bid, entry in (results.get("benchmarks") or {}).items():
        if check is None or not isinstance(entry, dict) or entry.get("status") != "complete":
            continue
        what = check(entry)
        if what:
            found[bid] = what + " (results.json holds both per window)"
    return found
