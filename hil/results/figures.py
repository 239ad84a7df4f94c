"""Reading figures out of a session's results.json, whatever the mode.

The results database, `tinyrig compare` and the HTML report all need the same figures
(per-window latency and instructions, energy per inference, accuracy, bit-exactness, memory,
per-layer instruction counts). They read them here and only here, so that when a mode adds or
renames a figure there is one place to teach. Every reader tolerates a missing section: a
performance session has no `accuracy`, an accuracy session may have no `windows`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from tinyrig.benchmarks import BENCHMARKS

# Sections of a benchmark entry whose scalar figures become named metrics (see `metrics`).
METRIC_SECTIONS = ("summary", "firmware", "accuracy", "energy")

# MAD of a normal sample times this estimates its standard deviation.
MAD_TO_SIGMA = 1.4826


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, float]]:
    """Scalars of nested dicts as dotted names; lists (per-file tables, matrices) are not metrics."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _flatten(f"{prefix}.{key}", sub)
    else:
        number = _number(value)
        if number is not None:
            yield prefix, number


def metrics(entry: dict) -> dict[str, float]:
    """Every scalar figure of a benchmark entry, by dotted name (`summary.median_latency_us`,
    `firmware.flash_bytes`, `accuracy.top1`, `energy.median_energy_per_inference_j`, ...),
    plus derived ones every mode can be compared on (`bit_exact.*`, `energy.per_inference_j`)."""
    out: dict[str, float] = {}
    for section in METRIC_SECTIONS:
        if isinstance(entry.get(section), dict):
            out.update(_flatten(section, entry[section]))
    # Canonical names every mode maps onto, for history queries and plots across modes.
    for source, (n, total) in bit_exact(entry).items():
        out[f"bit_exact.{source}"] = float(n)
        out[f"bit_exact.{source}_total"] = float(total)
    latency = median_latency_us(entry)
    if latency is not None:
        out["latency_us"] = latency
    instructions = _number((entry.get("summary") or {}).get("median_instructions"))
    if instructions is not None:
        out["instructions"] = instructions
    cycles = estimated_cycles(entry)
    if cycles is not None:
        out["estimated_cycles"] = cycles
    energy = energy_per_inference(entry)
    if energy:
        out["energy_per_inference_j"] = statistics.median(energy)
    out.update(accuracy(entry))
    return out


# -- windows -------------------------------------------------------------------------------------

def windows(entry: dict) -> list[dict]:
    return [w for w in entry.get("windows") or [] if isinstance(w, dict)]


def window_values(entry: dict, key: str) -> list[float]:
    return [v for v in (_number(w.get(key)) for w in windows(entry)) if v is not None]


def instructions_by_input(entry: dict, key: str = "instructions") -> dict[str, float]:
    """Per-inference instruction count of each window, keyed by its input: counts are
    data-dependent, so two runs are comparable window by window only on the same input."""
    out = {}
    for w in windows(entry):
        value = _number(w.get(key))
        if value is not None:
            out[str(w.get("input", w.get("index")))] = value
    return out


def cycles_by_input(entry: dict) -> dict[str, float]:
    """Per-inference estimated cycles of each window (QEMU with the cycle model), by input."""
    return instructions_by_input(entry, "estimated_cycles")


def latencies_us(entry: dict) -> list[float]:
    """Per-inference latency of each window: performance windows (`latency_us`), else energy
    windows (`latency_s`)."""
    values = window_values(entry, "latency_us")
    if not values:
        values = [v * 1e6 for v in (_number(w.get("latency_s")) for w in _energy_windows(entry)) if v is not None]
    return values


def median_latency_us(entry: dict) -> float | None:
    summary = entry.get("summary") or {}
    value = _number(summary.get("median_latency_us"))
    if value is None and _number(summary.get("median_latency_s")) is not None:
        value = summary["median_latency_s"] * 1e6
    if value is None:
        values = latencies_us(entry)
        value = statistics.median(values) if values else None
    return value


def estimated_cycles(entry: dict) -> float | None:
    """Cycles per inference from a cycle model, where a session has one (QEMU counts
    instructions, not cycles); None otherwise."""
    summary = entry.get("summary") or {}
    for key in ("median_estimated_cycles", "estimated_cycles", "median_cycles"):
        value = _number(summary.get(key))
        if value is not None:
            return value
    return None


# -- energy --------------------------------------------------------------------------------------

def _energy_windows(entry: dict) -> list[dict]:
    energy = entry.get("energy")
    if not isinstance(energy, dict):
        return []
    return [w for w in energy.get("windows") or [] if isinstance(w, dict)]


def window_energy_per_inference(w: dict, default_iterations: Any) -> float | None:
    for key, scale in (("energy_per_inference_j", 1.0), ("per_inference_j", 1.0),
                       ("energy_per_inference_uj", 1e-6)):
        value = _number(w.get(key))
        if value is not None:
            return value * scale
    total = _number(w.get("energy_j"))
    iterations = _number(w.get("iterations", default_iterations))
    if total is not None and iterations:
        return total / iterations
    return None


def energy_per_inference(entry: dict) -> list[float]:
    """Energy per inference (J) of each energy window, from `energy.windows[]`: the window's
    `energy_per_inference_j` when given, else its `energy_j` over its inference count."""
    values = (window_energy_per_inference(w, entry.get("iterations")) for w in _energy_windows(entry))
    return [v for v in values if v is not None]


def energy_trace_paths(entry: dict) -> list[str]:
    """Trace CSV paths named anywhere under `energy` (keys such as `trace_csv`, `traces`)."""
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and value.lower().endswith(".csv") and ("trace" in key or "csv" in key):
            found.append(value)

    walk(entry.get("energy") or {})
    return list(dict.fromkeys(found))


# -- accuracy ------------------------------------------------------------------------------------

def _accuracy_blocks(entry: dict) -> list[dict]:
    """Where accuracy mode keeps its figures, most specific first: `accuracy.summary`, then
    `accuracy` itself, then the benchmark's `summary` (which holds `accuracy` = top-1)."""
    acc = entry.get("accuracy")
    if not isinstance(acc, dict):
        return []
    blocks = [acc.get("summary"), acc, entry.get("summary")]
    return [b for b in blocks if isinstance(b, dict)]


def accuracy(entry: dict) -> dict[str, float]:
    """Headline accuracy figures: top-1 (fraction) and AUC where the mode reports them."""
    out = {}
    for name, keys in (("top1", ("top1", "top1_accuracy", "accuracy")), ("auc", ("auc", "roc_auc"))):
        for block in _accuracy_blocks(entry):
            value = next((v for v in (_number(block.get(k)) for k in keys) if v is not None), None)
            if value is not None:
                out[name] = value
                break
    return out


@dataclass
class Confusion:
    matrix: list[list[float]]
    labels: list[str]


def confusion_matrix(entry: dict, class_names: tuple[str, ...] | list[str] = ()) -> Confusion | None:
    """Rows are labels, columns predictions (accuracy mode's `accuracy.summary.confusion`).
    Labelled with the names the session stored, else `class_names` (the benchmark's), else 0..N-1."""
    block = next((b for b in _accuracy_blocks(entry) if b.get("confusion_matrix") or b.get("confusion")), None)
    if block is None:
        return None
    matrix = block.get("confusion_matrix") or block.get("confusion")
    if isinstance(matrix, dict):  # {"labels": [...], "matrix": [[...]]}
        labels, matrix = matrix.get("labels"), matrix.get("matrix")
    else:
        labels = block.get("labels") or block.get("class_names")
    if not (isinstance(matrix, list) and matrix and all(isinstance(r, list) for r in matrix)):
        return None
    size = len(matrix)
    if not (isinstance(labels, list) and len(labels) == size):
        labels = list(class_names) if len(class_names) == size else [str(i) for i in range(size)]
    return Confusion([[float(v) for v in row] for row in matrix], [str(x) for x in labels])


def missing_class_note(labels: Iterable[int], class_name: Callable[[int], str] = str) -> str | None:
    """Why an AUC cannot be taken over these file labels, or None when it can: the AUC ranks
    anomalies against normal files, so it needs at least one file of each class."""
    labels = list(labels)
    present = sorted(set(labels))
    if len(present) >= 2:
        return None
    if not present:
        return "AUC needs both classes; no file was scored"
    only = present[0]
    name = class_name(only)
    shown = f"class {only}" + (f" ({name})" if name != str(only) else "")
    return f"AUC needs both classes; only {shown} present in the {len(labels)} file(s) scored"


def auc_note(entry: dict, benchmark_id: str | None = None) -> str | None:
    """Why an accuracy entry shows no AUC although its benchmark is scored by AUC (ad01): the note
    accuracy mode stored, else worked out from the labels of the files it scored (older sessions)."""
    benchmark = BENCHMARKS.get(benchmark_id or "")
    acc = entry.get("accuracy")
    if not isinstance(acc, dict) or (benchmark is not None and benchmark.quality_metric != "auc"):
        return None
    if "auc" in accuracy(entry):
        return None
    summary = acc.get("summary") if isinstance(acc.get("summary"), dict) else {}
    if isinstance(summary.get("auc_note"), str):
        return summary["auc_note"]
    files = accuracy_files(entry)
    if not files or (benchmark is None and summary.get("top1") is not None):
        return None
    return missing_class_note((f["label"] for f in files if isinstance(f.get("label"), int)),
                              benchmark.class_name if benchmark else str)


def _fraction(value: Any) -> tuple[int, int] | None:
    """n/N from the shapes a mode may use: "47/50", [47, 50], {"exact": 47, "total": 50}."""
    if isinstance(value, str) and "/" in value:
        a, _, b = value.partition("/")
        try:
            return int(a), int(b)
        except ValueError:
            return None
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    if isinstance(value, dict):
        n = next((value[k] for k in ("exact", "n", "matched", "count") if isinstance(value.get(k), int)), None)
        total = next((value[k] for k in ("total", "of", "files") if isinstance(value.get(k), int)), None)
        if n is not None and total is not None:
            return n, total
    return None


def bit_exact(entry: dict) -> dict[str, tuple[int, int]]:
    """Bit-exact agreement with the reference interpreter, n of N, per source: `windows`
    (performance windows) and `files` (accuracy mode: reference-checked windows of its files),
    where present. Accuracy runs with the reference check off have no `files` figure."""
    out: dict[str, tuple[int, int]] = {}
    flags = [w.get("bit_exact") for w in windows(entry) if isinstance(w.get("bit_exact"), bool)]
    if flags:
        out["windows"] = (sum(flags), len(flags))
    for block in _accuracy_blocks(entry)[:2]:
        fraction = _fraction(block.get("bit_exact"))
        # Accuracy mode counts reference-checked windows: bit_exact of checked.
        if fraction is None and isinstance(block.get("bit_exact"), int) and isinstance(block.get("checked"), int):
            fraction = (block["bit_exact"], block["checked"])
        if fraction is not None:
            out["files"] = fraction
            break
    else:
        files = accuracy_files(entry)
        if files and all(isinstance(f.get("checked"), int) for f in files):
            out["files"] = (sum(int(f.get("bit_exact") or 0) for f in files), sum(f["checked"] for f in files))
    return out


def accuracy_files(entry: dict) -> list[dict]:
    acc = entry.get("accuracy")
    if not isinstance(acc, dict):
        return []
    for key in ("files", "per_file", "results"):
        if isinstance(acc.get(key), list):
            return [f for f in acc[key] if isinstance(f, dict)]
    return []


# -- layers --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Layer:
    index: int
    op: str
    instructions: float


def layers(entry: dict) -> list[Layer]:
    """Per-layer instruction counts from a profile (`layers: [{index, op, instructions}]`)."""
    out = []
    for i, layer in enumerate(entry.get("layers") or []):
        if isinstance(layer, dict) and _number(layer.get("instructions")) is not None:
            out.append(Layer(int(layer.get("index", i)), str(layer.get("op", "?")), float(layer["instructions"])))
    return out


# -- samples (one row per window, file or layer, for the database) ---------------------------------

@dataclass
class Sample:
    kind: str  # "window", "layer", or "<section>.<list>" such as "accuracy.files", "energy.windows"
    index: int
    label: str | None
    figures: dict
    latency_us: float | None = None
    instructions: float | None = None
    energy_j: float | None = None
    bit_exact: bool | None = None


def _label(item: dict) -> str | None:
    for key in ("input", "file", "name", "op"):
        if item.get(key) is not None:
            return str(item[key])
    return None


def _sample(kind: str, i: int, item: dict, iterations: Any) -> Sample:
    energy = window_energy_per_inference(item, iterations) if kind == "energy.windows" else _number(item.get("energy_j"))
    exact = item.get("bit_exact")
    return Sample(kind, int(item.get("index", i)) if isinstance(item.get("index"), int) else i, _label(item), item,
                  latency_us=_number(item.get("latency_us")), instructions=_number(item.get("instructions")),
                  energy_j=energy, bit_exact=exact if isinstance(exact, bool) else None)


def samples(entry: dict) -> Iterable[Sample]:
    """Every per-window, per-file and per-layer record of a benchmark entry."""
    for i, w in enumerate(windows(entry)):
        yield _sample("window", i, w, entry.get("iterations"))
    for i, layer in enumerate(entry.get("layers") or []):
        if isinstance(layer, dict):
            yield _sample("layer", i, layer, None)
    for section in ("accuracy", "energy"):
        block = entry.get(section)
        if not isinstance(block, dict):
            continue
        for key, value in block.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                for i, item in enumerate(value):
                    yield _sample(f"{section}.{key}", i, item, entry.get("iterations"))


# -- robust statistics -----------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return statistics.median(values)


def mad_spread(values: list[float]) -> float:
    """Robust spread (a standard deviation estimate) from the median absolute deviation."""
    if len(values) < 2:
        return 0.0
    m = statistics.median(values)
    return MAD_TO_SIGMA * statistics.median(abs(v - m) for v in values)
