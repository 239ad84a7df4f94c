"""The regression gate on real sessions and labelled synthetic candidates made from them: exact
instruction counts (per window and per layer), noise-aware latency and energy, accuracy,
bit-exactness, memory, and the JUnit/Markdown outputs and exit codes of `tinyrig compare`."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import click
from click.testing import CliRunner

from tinyrig_testing.results_support import ACCURACY_SESSION, ENERGY_SESSION, PERF_SESSION, load, synthetic_slowdown, write_session
from tinyrig.cli.results import compare_cmd, record_cmd
from tinyrig.hil.results import ci as results_ci
from tinyrig.hil.results.compare import ERROR, FAIL, PASS, SessionRef, Thresholds, compare

cli = click.Group(commands=[compare_cmd, record_cmd])


def ref(results: dict, name: str = "s") -> SessionRef:
    return SessionRef(name, results, name)


def checks(comparison, status=None) -> dict[tuple[str, str], object]:
    return {(c.benchmark, c.name): c for c in comparison.checks if status is None or c.status == status}


def test_a_session_against_itself_passes_every_check():
    perf = load(PERF_SESSION)
    result = compare([ref(perf, "base")], ref(copy.deepcopy(perf), "cand"))
    assert result.ok and result.verdict == "pass"
    names = {name for _, name in checks(result)}
    assert {"instructions", "latency", "bit_exact.windows", "flash", "ram"} <= names
    assert all(c.status == PASS for c in result.checks)


def test_instruction_change_fails_with_its_size():
    perf = load(PERF_SESSION)
    slow = synthetic_slowdown(perf, "ad01", 1.05, note="test: ad01 made 5% slower")
    result = compare([ref(perf)], ref(slow))
    failed = checks(result, FAIL)
    assert set(failed) == {("ad01", "instructions"), ("ad01", "latency")}
    message = failed[("ad01", "instructions")].message
    assert message.startswith("ad01: instructions per inference changed in 5/5 window(s)")
    assert "+71,749 (+5.00%: 1,434,986 -> 1,506,735)" in message  # the median
    assert "+5.0" in failed[("ad01", "latency")].message and "ad01: latency regressed" in failed[("ad01", "latency")].message
    # One window off by a single instruction fails too: the rule is exact.
    one = copy.deepcopy(perf)
    one["benchmarks"]["kws01"]["windows"][2]["instructions"] += 1
    result = compare([ref(perf)], ref(one))
    (failure,) = result.failures
    assert failure.benchmark == "kws01" and failure.details == ["window random-0-2: +1 (+0.00%: 39,068,581 -> 39,068,582)"]
    assert compare([ref(perf)], ref(one), Thresholds(instructions_tolerance=1)).ok


def test_fewer_instructions_fail_unless_allowed():
    perf = load(PERF_SESSION)
    fast = synthetic_slowdown(perf, "kws01", 0.9, note="test: kws01 made 10% faster")
    assert checks(compare([ref(perf)], ref(fast)), FAIL).keys() == {("kws01", "instructions")}
    assert compare([ref(perf)], ref(fast), Thresholds(allow_fewer_instructions=True)).ok


def test_per_layer_changes_are_named():
    perf = load(PERF_SESSION)
    layers = [{"index": 0, "op": "CONV_2D", "instructions": 1000}, {"index": 1, "op": "FULLY_CONNECTED", "instructions": 500}]
    base, cand = copy.deepcopy(perf), copy.deepcopy(perf)
    base["benchmarks"]["ad01"]["layers"] = layers
    cand["benchmarks"]["ad01"]["layers"] = [dict(layers[0]), dict(layers[1], instructions=650)]
    check = checks(compare([ref(base)], ref(cand)), FAIL)[("ad01", "instructions")]
    assert "per-layer instruction counts changed" in check.message
    assert check.details == ["layer 1 FULLY_CONNECTED: +150 (+30.00%: 500 -> 650)"]


def test_runs_that_cannot_be_compared_exactly_are_errors():
    perf = load(PERF_SESSION)
    other_seed = copy.deepcopy(perf)
    for w in other_seed["benchmarks"]["ad01"]["windows"]:
        w["input"] = w["input"].replace("random-0-", "random-1-")
    other_seed["benchmarks"]["ad01"]["inputs"] = "random (seed 1)"
    check = checks(compare([ref(perf)], ref(other_seed)), ERROR)[("ad01", "instructions")]
    assert "inputs differ" in check.message and "random (seed 1)" in check.message
    shorter = copy.deepcopy(perf)
    shorter["benchmarks"]["kws01"]["iterations"] = 1
    check = checks(compare([ref(perf)], ref(shorter)), ERROR)[("kws01", "instructions")]
    assert "windows differ (baseline 3 iterations" in check.message


def hardware(results: dict, latencies: dict[str, list[float]]) -> dict:
    """A copy made to look like a hardware run with these per-window latencies (synthetic)."""
    out = copy.deepcopy(results)
    out["target"] = "hardware"
    out["synthetic"] = "test: hardware-like latencies"
    for bid, values in latencies.items():
        entry = out["benchmarks"][bid]
        entry["emulated"] = False
        for w, value in zip(entry["windows"], values):
            w["latency_us"] = value
        entry["summary"]["median_latency_us"] = sorted(values)[len(values) // 2]
    return out


def test_latency_tolerance_follows_the_baseline_noise():
    perf = load(PERF_SESSION)
    noisy = [1000.0, 1010.0, 990.0, 1040.0, 960.0]  # median 1000, MAD 10 -> sigma 14.8
    base = hardware(perf, {"ad01": noisy})
    # 3 x 14.8 = 44.5 us beats the 2 % floor (20 us): +40 us passes, +50 us fails.
    within = hardware(perf, {"ad01": [v + 40 for v in noisy]})
    beyond = hardware(perf, {"ad01": [v + 50 for v in noisy]})
    assert checks(compare([ref(base)], ref(within)))[("ad01", "latency")].status == PASS
    failed = checks(compare([ref(base)], ref(beyond)))[("ad01", "latency")]
    assert failed.status == FAIL and "+50.0 us (+5.00%: 1,000.0 us -> 1,050.0 us)" in failed.message
    assert "tolerance 44.5 us" in failed.message
    # A quiet baseline: the 2 % floor applies.
    quiet = hardware(perf, {"ad01": [1000.0] * 5})
    assert checks(compare([ref(quiet)], ref(hardware(perf, {"ad01": [1019.0] * 5}))))[("ad01", "latency")].status == PASS
    assert checks(compare([ref(quiet)], ref(hardware(perf, {"ad01": [1021.0] * 5}))))[("ad01", "latency")].status == FAIL
    # --last N pools the windows of every baseline for the spread.
    pooled = compare([ref(quiet, "q"), ref(base, "n")], ref(within))
    assert "over 10 baseline window(s)" in checks(pooled)[("ad01", "latency")].message
    # Faster is never a latency failure.
    assert checks(compare([ref(base)], ref(hardware(perf, {"ad01": [500.0] * 5}))))[("ad01", "latency")].status == PASS


def test_energy_regression():
    energy = load(ENERGY_SESSION)
    hungry = copy.deepcopy(energy)
    hungry["synthetic"] = "test: ad01 uses 10% more energy"
    for w in hungry["benchmarks"]["ad01"]["energy"]["windows"]:
        w["energy_per_inference_j"] *= 1.10
    result = compare([ref(energy)], ref(hungry))
    (failure,) = result.failures
    assert failure.benchmark == "ad01" and failure.name == "energy"
    assert "ad01: energy regressed by +47.388 uJ (+10.00%: 473.881 uJ -> 521.269 uJ)" in failure.message
    assert compare([ref(energy)], ref(copy.deepcopy(energy))).ok


def test_accuracy_and_bit_exactness_must_not_drop():
    acc = load(ACCURACY_SESSION)
    worse = copy.deepcopy(acc)
    worse["synthetic"] = "test: one more kws01 file wrong, AUC down, one ad01 window not bit-exact"
    worse["benchmarks"]["kws01"]["accuracy"]["summary"]["top1"] = 2 / 6
    worse["benchmarks"]["ad01"]["accuracy"]["summary"]["auc"] = 0.75
    worse["benchmarks"]["ad01"]["accuracy"]["summary"]["bit_exact"] = 7
    failed = checks(compare([ref(acc)], ref(worse)), FAIL)
    assert set(failed) == {("kws01", "accuracy.top1"), ("ad01", "accuracy.auc"), ("ad01", "bit_exact.files")}
    assert "kws01: top1 dropped: -16.67 %" in failed[("kws01", "accuracy.top1")].message
    assert failed[("ad01", "bit_exact.files")].message.startswith("ad01: bit-exact files 7/8 (baseline 8/8)")
    assert compare([ref(acc)], ref(worse), Thresholds(accuracy_drop=0.2)).failures[0].name == "accuracy.auc"


def test_memory_growth_threshold():
    perf = load(PERF_SESSION)
    bigger = copy.deepcopy(perf)
    bigger["synthetic"] = "test: kws01 .text +200 B, ad01 .bss +300 B"
    bigger["benchmarks"]["kws01"]["firmware"]["flash_bytes"] += 200  # allowance: max(256 B, 435 B)
    bigger["benchmarks"]["ad01"]["firmware"]["ram_bytes"] += 300  # allowance: max(256 B, 149 B)
    bigger["benchmarks"]["ad01"]["firmware"]["sections"][".bss"] += 300
    failed = checks(compare([ref(perf)], ref(bigger)), FAIL)
    assert set(failed) == {("ad01", "ram")}
    assert "ad01: ram grew beyond the allowance: +300 B (+2.02%: 14,852 B -> 15,152 B)" in failed[("ad01", "ram")].message
    assert failed[("ad01", "ram")].details == [".bss: +300 B"]
    assert compare([ref(perf)], ref(bigger), Thresholds(memory_abs=512)).ok


def test_failed_or_missing_benchmarks_fail():
    perf = load(PERF_SESSION)
    broken = copy.deepcopy(perf)
    broken["synthetic"] = "test: kws01 failed, ad01 missing"
    broken["benchmarks"]["kws01"] = {"status": "failed", "error": "firmware stopped answering"}
    del broken["benchmarks"]["ad01"]
    messages = [c.message for c in compare([ref(perf)], ref(broken)).failures]
    assert messages == ["kws01: failed in the candidate: firmware stopped answering",
                        "ad01: missing from the candidate session"]


def test_junit_and_markdown():
    perf = load(PERF_SESSION)
    result = compare([ref(perf, "base")], ref(synthetic_slowdown(perf, "ad01", 1.05, note="test"), "cand"))
    suite = ET.fromstring(results_ci.junit_xml(result)).find("testsuite")
    assert suite.get("failures") == "2" and suite.get("tests") == str(len(result.checks))
    failures = [(c.get("classname"), c.get("name"), c.find("failure").get("message"))
                for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [(cls, name) for cls, name, _ in failures] == [("tinyrig.qemu-mps2-an386.ad01", "instructions"),
                                                          ("tinyrig.qemu-mps2-an386.ad01", "latency")]
    assert "+5.00%" in failures[0][2]
    md = results_ci.markdown(result)
    assert md.startswith("## tinyrig compare: FAIL: 2 regression(s)")
    assert "- **ad01 instructions**: ad01: instructions per inference changed" in md
    assert "| ad01 | instructions | 1,434,986 | 1,506,735 | +71,749 (+5.00%) | FAIL |" in md


def test_compare_command(tmp_path):
    perf = load(PERF_SESSION)
    base = write_session(tmp_path, "base", perf)
    cand = write_session(tmp_path, "cand-synthetic", synthetic_slowdown(perf, "ad01", 1.05, note="test"))
    runner = CliRunner()
    same = runner.invoke(cli, ["compare", str(base), str(PERF_SESSION)])
    assert same.exit_code == 0, same.output
    junit, md = tmp_path / "out" / "junit.xml", tmp_path / "out" / "summary.md"
    slow = runner.invoke(cli, ["compare", str(base), str(cand), "--junit", str(junit), "--markdown", str(md)])
    assert slow.exit_code == 1
    assert "REGRESSION (2): ad01: instructions per inference changed in 5/5 window(s)" in " ".join(slow.output.split())
    assert ET.parse(junit).getroot().get("failures") == "2" and "FAIL" in md.read_text()
    # The thresholds are options.
    assert runner.invoke(cli, ["compare", str(base), str(cand), "--allow-fewer-instructions"]).exit_code == 1
    # Clear errors for what is not a session.
    missing = runner.invoke(cli, ["compare", str(base), str(tmp_path / "nope"), "--db", str(tmp_path / "db.sqlite")])
    assert missing.exit_code == 2 and "neither a session folder nor a recorded session" in missing.output
    usage = runner.invoke(cli, ["compare", str(base)])
    assert usage.exit_code == 2 and "give BASELINE and CANDIDATE, or --last N" in usage.output


def test_compare_last_without_a_baseline(tmp_path):
    db = str(tmp_path / "db.sqlite")
    runner = CliRunner()
    assert runner.invoke(cli, ["record", str(PERF_SESSION), "--db", db, "--no-git"]).exit_code == 0
    first = runner.invoke(cli, ["compare", "--last", "1", "--db", db, "--junit", str(tmp_path / "j.xml")])
    assert first.exit_code == 0 and "no earlier good session" in " ".join(first.output.split())
    assert ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase/skipped") is not None
    strict = runner.invoke(cli, ["compare", "--last", "1", "--db", db, "--require-baseline", "--markdown",
                                 str(tmp_path / "s.md")])
    assert strict.exit_code == 1 and "1 error(s)" in (tmp_path / "s.md").read_text()
    # Two folders and a --db that does not exist: the gate still runs; only the verdict is not stored.
    other = runner.invoke(cli, ["compare", str(PERF_SESSION), str(PERF_SESSION), "--db", str(tmp_path / "none.db")])
    assert other.exit_code == 0 and "verdict not stored" in other.output


def test_a_negative_count_is_refused_when_read(tmp_path):
    """A results.json whose counts are negative (hand-edited, or written by a broken tool) is not a
    session compare measures against: before, compare printed ratios of the absurd figures."""
    perf = load(PERF_SESSION)
    bench = next(iter(perf["benchmarks"]))
    broken = copy.deepcopy(perf)
    broken["benchmarks"][bench]["windows"][0]["instructions"] = -1.0
    cand = write_session(tmp_path, "cand", broken)
    result = CliRunner().invoke(cli, ["compare", str(PERF_SESSION), str(cand)])
    assert result.exit_code == 6, result.output  # a session folder that cannot be read
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert f"benchmarks.{bench}.windows.0.instructions" in lines[0]
    assert "greater than or equal to 0" in lines[0]
