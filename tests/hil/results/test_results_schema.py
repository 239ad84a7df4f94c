"""results.json as typed models: the stored schema-1 sessions load (migrated, every figure kept),
documents of the wrong shape give one clear line, and what is written reads back the same."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from tinyrig_testing.results_support import ACCURACY_SESSION, ENERGY_SESSION, PERF_SESSION, load, write_session
from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.hil.results.schema import (
    SCHEMA_VERSION,
    AccuracyHeadline,
    EnergySummary,
    PerformanceSummary,
    ResultsFileError,
    RunOptionsRecord,
    SessionResults,
    parse_results,
    read_results,
)
from tinyrig.hil.results.session import Session
from tinyrig.hil.run.options import RunOptions


def test_schema_1_sessions_load_with_every_figure():
    perf = read_results(PERF_SESSION)
    raw = load(PERF_SESSION)
    assert raw["schema_version"] == 1 and perf.schema_version == SCHEMA_VERSION == 2
    for bid in ("kws01", "ad01"):
        entry, old = perf.benchmarks[bid], raw["benchmarks"][bid]
        assert isinstance(entry.summary, PerformanceSummary)
        assert [w.instructions for w in entry.windows] == [w["instructions"] for w in old["windows"]]
        assert entry.summary.median_instructions == old["summary"]["median_instructions"]
        assert entry.firmware.sections == old["firmware"]["sections"] and entry.firmware.env is None
        assert entry.emulated is True and entry.valid is False
    assert perf.options is None  # this early session recorded none

    acc = read_results(ACCURACY_SESSION)
    kws, ad = acc.benchmarks["kws01"], acc.benchmarks["ad01"]
    assert isinstance(kws.summary, AccuracyHeadline) and kws.summary.accuracy == 0.5
    assert kws.accuracy.summary.top1 == 0.5 and kws.accuracy.summary.auc is None  # figures as they were
    # ... and the runner's figures, derived from the per-file scores on read.
    assert kws.accuracy.summary.runner_top1_percent == 50.0
    assert ad.accuracy.summary.auc == ad.accuracy.summary.runner_auc == 1.0
    assert ad.accuracy.summary.runner_top1_percent == pytest.approx(100.0, abs=1e-5)
    assert acc.options.dataset == "/tmp/h9ds/d" and acc.options.infer_timeout_s == 900.0

    energy = read_results(ENERGY_SESSION)
    entry = energy.benchmarks["ad01"]
    assert isinstance(entry.summary, EnergySummary) and entry.summary.valid is False
    assert entry.energy.power_model.supply_v == 3.0
    assert entry.energy.windows[1].trace_csv == "energy_ad01_001.csv"


def test_the_stored_files_are_never_rewritten_by_reading():
    before = (PERF_SESSION / "results.json").read_bytes()
    read_results(PERF_SESSION)
    assert (PERF_SESSION / "results.json").read_bytes() == before


@pytest.mark.parametrize("change, expected", [
    (lambda r: r["benchmarks"]["kws01"]["windows"][0].update(latency_us="fast"),
     "benchmarks.kws01.windows.0.latency_us: Input should be a valid number"),
    (lambda r: r["benchmarks"]["kws01"]["firmware"].pop("flash_bytes"),
     "benchmarks.kws01.firmware.flash_bytes: Field required"),
    (lambda r: r["benchmarks"]["ad01"].update(colour="blue"), "benchmarks.ad01.colour: Extra inputs are not permitted"),
    (lambda r: r["benchmarks"]["ad01"].update(summary={"windows": 5}),
     "benchmarks.ad01.summary: not a performance, energy, accuracy or streaming summary"),
    (lambda r: r.update(status="sleeping"), "status: Input should be 'running', 'complete'"),
    (lambda r: r.update(schema_version=9), "written by a newer tinyrig (schema 9); this one reads up to schema 2"),
    (lambda r: r.pop("schema_version"), "not a tinyrig results file (no schema_version)"),
])
def test_a_wrong_shape_is_one_clear_line(tmp_path, change, expected):
    results = load(PERF_SESSION)
    change(results)
    folder = write_session(tmp_path, "bad", results)
    with pytest.raises(ResultsFileError) as info:
        read_results(folder)
    message = str(info.value)
    assert message.startswith(str(folder / "results.json")) and expected in message and "\n" not in message


def test_unreadable_files_and_the_cli(tmp_path):
    (tmp_path / "notjson").mkdir()
    (tmp_path / "notjson" / "results.json").write_text("{not json")
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "results.json").write_text("[1, 2]")
    (tmp_path / "empty").mkdir()
    for name, expected in (("notjson", "unreadable results file"), ("list", "not a tinyrig results document"),
                           ("empty", "not a tinyrig session (no results.json)")):
        with pytest.raises(ResultsFileError, match=re.escape(expected)):
            read_results(tmp_path / name)
    bad = load(PERF_SESSION)
    bad["benchmarks"]["kws01"]["iterations"] = "three"
    folder = write_session(tmp_path, "bad", bad)
    proc = subprocess.run([sys.executable, "-m", "tinyrig.cli", "report", str(folder)], capture_output=True, text=True)
    assert proc.returncode == 6 and "Traceback" not in proc.stderr  # 6: a session that cannot be read (cli/exits.py)
    (line,) = [l for l in proc.stderr.splitlines() if l.strip()]
    assert "benchmarks.kws01.iterations: Input should be a valid integer" in line


def test_written_results_read_back_identical_at_the_current_version(tmp_path):
    session = Session.open(write_session(tmp_path, "s", load(ACCURACY_SESSION)))
    entry = read_results(PERF_SESSION).benchmarks["ad01"]
    entry.windows[0].latency_us, entry.windows[0].wall_s = float("nan"), float("inf")  # nothing measured: kept
    session.results.benchmarks["extra"] = entry
    session.save()
    session.close()
    text = (session.directory / "results.json").read_text()
    assert json.loads(text)["schema_version"] == SCHEMA_VERSION and "NaN" in text and "Infinity" in text
    again = read_results(session.directory)
    assert math.isnan(again.benchmarks["extra"].windows[0].latency_us)
    again.benchmarks["extra"].windows[0].latency_us = session.results.benchmarks["extra"].windows[0].latency_us = 0.0
    assert again == session.results


def test_run_options_round_trip_through_the_schema():
    options = RunOptions(board=load_board("qemu-mps3-an547"), benchmarks=[get_benchmark("kws01"), get_benchmark("ad01")],
                         mode="energy", iterations=7, warmup=2, seed=3, dataset=Path("/data/set"), limit=4,
                         fast_load=False, icount_shift=1, infer_timeout_s=33.0, jobs=2, port="/dev/ttyACM1")
    record = options.to_record()
    assert isinstance(record, RunOptionsRecord) and record.dataset == "/data/set" and record.board.endswith(".toml")
    assert set(RunOptionsRecord.model_fields) == {f.name for f in fields(RunOptions)}
    back = RunOptions.from_record(RunOptionsRecord.model_validate_json(record.model_dump_json()))
    assert back == options


def test_sessions_are_created_typed(tmp_path):
    session = Session.create(tmp_path, board="qemu-mps2-an386", target="qemu", mode="performance",
                             meta={"tinyrig_version": "9.9", "git_revision": "abc", "git_dirty": False})
    entry = session.benchmark("kws01")
    assert entry.status == "pending" and session.benchmark("kws01") is entry
    session.finish("complete")
    session.close()
    results = read_results(session.directory)
    assert results.status == "complete" and results.tinyrig_version == "9.9" and "kws01" in results.benchmarks
    with pytest.raises(ValueError, match="colour"):
        Session.create(tmp_path, board="b", target="qemu", mode="performance", meta={"colour": "blue"})


def test_documents_already_typed_or_current_pass_unchanged():
    results = read_results(ENERGY_SESSION)
    assert parse_results(results) is results
    assert parse_results(results.data()) == results
    assert SessionResults.model_validate_json(results.model_dump_json()) == results


def test_what_a_renode_run_reports_is_recorded_typed():
    """The runner records `run.emulator_info` (Renode: version, binary, platform file, notes)."""
    from tinyrig.hil.results.schema import BenchmarkEntry, EmulatorInfo
    from tinyrig.hil.targets.renode import RenodeRun
    from tinyrig.renode.version import RenodeVersion

    run = RenodeRun(url="socket://127.0.0.1:1", process=None, command=["/opt/renode/renode", "--disable-gui"],
                    monitor=None, log_path=Path("renode.log"), instructions_per_second=168e6,
                    version=RenodeVersion(1, 16, 0), platform_file="@platforms/boards/stm32f4_discovery-kit.repl",
                    notes=["a note"])
    entry = BenchmarkEntry(emulator=EmulatorInfo.model_validate(run.emulator_info))
    assert entry.emulator.version == "1.16.0" and entry.emulator.platform == "platforms/boards/stm32f4_discovery-kit.repl"
    assert BenchmarkEntry.model_validate_json(entry.model_dump_json()) == entry
