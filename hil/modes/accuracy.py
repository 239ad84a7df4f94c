"""Accuracy mode: `infer 1 0` for every input of a dataset; top-1 and a confusion matrix
(kws01, vww01, ic01) or AUC over per-file mean scores (ad01). With the model at hand, every
output is also checked against the tflite-micro interpreter (`bit-exact vs reference: n/N`).

Files are the unit of progress: each finished file is handed to `on_file` at once (the session
saves it), and a resumed run skips the files already done.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tinyrig.benchmarks import Benchmark
from tinyrig.hil.dut.dataset import DatasetError, DatasetFile, read_index
from tinyrig.hil.dut.client import Dut
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.hil.modes.accuracy_batched import run_batched_if_possible
from tinyrig.hil.modes.base import Mode, ModeContext, ModeOptionError, ModeSettings
from tinyrig.hil.modes.deadline import InferDeadline
from tinyrig.hil.results.figures import missing_class_note
from tinyrig.hil.results.runner_metrics import runner_accuracy
from tinyrig.hil.results.schema import AccuracyFile, AccuracyHeadline, AccuracyRecord, AccuracySummary


# The records are the results schema's (hil/results/schema.py): a mode fills them, results.json keeps them.
FileResult = AccuracyFile


def _scores_text(lines: list[str]) -> list[str]:
    line = next((l for l in lines if l.startswith("m-results-")), None)
    if line is None:
        return []
    body = line[line.index("[") + 1 : line.rindex("]")]
    return body.split(",") if body else []


def run_file(dut: Dut, load: Callable[[Dut, bytes], None], item: DatasetFile, reference: ReferenceModel | None,
             use_raw: bool, timeout_s: float, deadline: InferDeadline | None = None) -> FileResult:
    per_window: list[list[float]] = []
    exact = checked = 0
    deadline = deadline or InferDeadline(timeout_s)
    for window in item.windows():
        load(dut, window)
        result = deadline.infer(dut, 1, 0)
        per_window.append(result.scores)
        if reference is not None:
            expected = reference.run(window)
            same = dut.raw_output() == expected.raw if use_raw else _scores_text(result.lines) == expected.scores
            exact += int(same)
            checked += 1
    mean = np.mean(np.array(per_window, dtype=np.float64), axis=0).tolist()
    predicted = int(np.argmax(mean)) if len(mean) > 1 else None
    return FileResult(index=item.index, file=item.name, label=item.label, windows=len(per_window), score=mean,
                      predicted=predicted, bit_exact=exact, checked=checked)


def summarize(benchmark: Benchmark, results: list[FileResult], num_classes: int) -> AccuracySummary:
    summary = AccuracySummary(files=len(results), inputs=sum(r.windows for r in results),
                              bit_exact=sum(r.bit_exact for r in results), checked=sum(r.checked for r in results))
    # What the MLPerf Tiny runner prints: its `Top 1%` and an AUC for every benchmark.
    summary.runner_top1_percent, summary.runner_auc = runner_accuracy([r.score for r in results],
                                                                      [r.label for r in results])
    if benchmark.quality_metric == "auc":
        summary.auc = summary.runner_auc  # ad01: the ROC area of the mean error, as before
        if summary.auc is not None:
            summary.meets_target = summary.auc >= benchmark.quality_target
        else:
            summary.auc_note = missing_class_note((r.label for r in results), benchmark.class_name)
    else:
        confusion = np.zeros((num_classes, num_classes), dtype=int)
        for r in results:
            if r.predicted is not None and r.predicted < num_classes:
                confusion[r.label, r.predicted] += 1
        summary.confusion = confusion.tolist()
        summary.class_names = [benchmark.class_name(i) for i in range(num_classes)]
        summary.top1 = float(np.trace(confusion) / max(1, len(results)))
        summary.meets_target = summary.top1 >= benchmark.quality_target
    return summary


def run_accuracy(dut: Dut, benchmark: Benchmark, files: list[DatasetFile], *, load: Callable[[Dut, bytes], None],
                 reference: ReferenceModel | None, done: list[FileResult] | None = None,
                 on_file: Callable[[FileResult], None] | None = None, timeout_s: float = 600.0) -> list[FileResult]:
    results = list(done or [])
    finished = {r.index for r in results}
    use_raw = "raw" in dut.capabilities()
    deadline = InferDeadline(timeout_s)  # after the first input, derived from the last one
    for item in files:
        if item.index in finished:
            continue
        result = run_file(dut, load, item, reference, use_raw, timeout_s, deadline)
        results.append(result)
        if on_file is not None:
            on_file(result)
    return sorted(results, key=lambda r: r.index)


class AccuracyMode(Mode):
    """MLPerf Tiny accuracy mode over a dataset in the official layout."""

    name = "accuracy"

    def check(self, settings: ModeSettings, target) -> None:
        """Before anything builds: a dataset is given, and each benchmark's index and the files it
        names are there (a missing y_labels.csv would otherwise show only once QEMU runs)."""
        if not settings.dataset:
            raise ModeOptionError("accuracy mode needs --dataset DIR "
                                  "(the official layout: DIR/<id>/y_labels.csv + files)")
        for benchmark in settings.benchmarks:
            try:
                read_index(benchmark, settings.dataset, settings.limit)
            except DatasetError as exc:
                raise ModeOptionError(str(exc)) from None

    def run(self, ctx: ModeContext) -> None:
        entry, bid = ctx.entry, ctx.benchmark.id
        self.check(ctx.settings, type(ctx.target))
        files = read_index(ctx.benchmark, ctx.settings.dataset, ctx.settings.limit)
        acc = entry.accuracy = entry.accuracy or AccuracyRecord()
        acc.dataset = str(ctx.settings.dataset)

        def on_file(result: FileResult) -> None:
            acc.files.append(result)
            ctx.session.save()
            ctx.progress.advance(bid, len(acc.files), len(files), result.file)

        # Under QEMU with the semihosting loader: many inputs per command, the reference in workers.
        results = run_batched_if_possible(ctx, files, list(acc.files), on_file)
        if results is None:
            results = run_accuracy(ctx.dut, ctx.benchmark, files, load=ctx.load,
                                   reference=ctx.reference if ctx.settings.check_reference else None,
                                   done=list(acc.files), on_file=on_file, timeout_s=ctx.settings.infer_timeout_s)
        summary = summarize(ctx.benchmark, results, files[0].num_classes)
        acc.summary = summary
        entry.summary = AccuracyHeadline(accuracy=summary.top1, auc=summary.auc, bit_exact=summary.bit_exact,
                                         checked=summary.checked, files=summary.files, inputs=summary.inputs,
                                         meets_target=summary.meets_target, auc_note=summary.auc_note)
