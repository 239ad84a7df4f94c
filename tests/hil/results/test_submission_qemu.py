"""`tinyrig submission build` and `check` on valid sessions from a simulated board
(tinyrig_testing/simulated_board.py: the real ad01 firmware under QEMU with 16 ns per
instruction, taken as hardware): performance with the runner's N raised by a trial window to
10 s windows, and accuracy on a small dataset in the official layout. The tree they make must
pass every checker rule; accuracy on other firmware than performance must be refused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinyrig_testing.results_support import load, models_dir, require_emulation
from tinyrig_testing.simulated_board import ICOUNT_SHIFT, KIND
from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.cli.submission import submission
from tinyrig.hil.modes.base import Progress
from tinyrig.hil.results.schema import read_results
from tinyrig.hil.results.session import Session
from tinyrig.hil.results.submission import rules as R
from tinyrig.hil.results.submission.check import check_tree
from tinyrig.hil.results.submission.tree import SubmissionError, TreeOptions, build_tree
from tinyrig.hil.run.options import RunOptions
from tinyrig.hil.run.runner import run_session
from tinyrig.hil.targets import registry

SYNTHETIC = f"test: the simulated board (QEMU -icount shift={ICOUNT_SHIFT} taken as hardware)"


def make_ad01_dataset(root: Path) -> Path:
    """Six one-window files: three slices of the real spectrogram sample (normal), three with
    noise added (anomalous), in the official layout."""
    rng = np.random.default_rng(3)
    sample = models_dir().parent / "samples" / "ad01" / "normal_id_01_00000000_hist_librosa.bin"
    base = np.fromfile(sample, dtype="<f4") if sample.is_file() else rng.normal(-30, 5, 25600).astype("<f4")
    folder = root / "ad01"
    folder.mkdir(parents=True)
    rows = []
    for i in range(6):
        window = base[640 * i: 640 * (i + 1)].astype(np.float64)
        label = int(i >= 3)
        if label:
            window = window + rng.normal(0, 12, 640)
        window.astype("<f4").tofile(folder / f"f{i}.bin")
        rows.append(f"f{i}.bin,2,{label},2560,0")
    (folder / "y_labels.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def simulated_sessions(tmp_path_factory) -> dict[str, Path]:
    """Performance and accuracy sessions of ad01 on the simulated board."""
    require_emulation()
    root = tmp_path_factory.mktemp("simulated")
    dataset = make_ad01_dataset(root / "dataset")
    board = load_board("qemu-mps2-an386")
    sessions = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(registry.BUILTIN, KIND, "tinyrig_testing.simulated_board:SimulatedBoard")
        for mode in ("performance", "accuracy"):
            options = RunOptions(board=board, benchmarks=[get_benchmark("ad01")], mode=mode, target=KIND,
                                 models_dir=models_dir(), dataset=dataset if mode == "accuracy" else None)
            session = Session.create(root / "sessions", board=board.name, target=KIND, mode=mode,
                                     meta={"synthetic": SYNTHETIC, "tinyrig_version": "test"})
            try:
                assert run_session(session, options, Progress()), session.results.benchmarks["ad01"].error
            finally:
                session.close()
            sessions[mode] = session.directory
    return sessions


def invoke(*args: str):
    return CliRunner().invoke(submission, [str(a) for a in args], catch_exceptions=False)


def test_valid_sessions_make_a_tree_the_checker_accepts(simulated_sessions, tmp_path):
    perf = read_results(simulated_sessions["performance"]).benchmarks["ad01"]
    # The runner's N (1500) gave a 6.14 s window on this 62.5 MHz-like board (1500 x ad01's
    # 255,764 instructions x 16 ns): N was raised.
    assert perf.calibration.iterations == 1500 and perf.calibration.window_s == pytest.approx(6.14, abs=0.01)
    assert perf.iterations == perf.calibration.scaled_iterations > 1500 and perf.warmup == 0
    assert all(w.iterations == perf.iterations and w.window_s >= 10.0 for w in perf.windows)
    assert perf.emulated is False and perf.valid and perf.summary.scores_match_reference is True
    acc = read_results(simulated_sessions["accuracy"]).benchmarks["ad01"]
    assert acc.valid and acc.accuracy.summary.runner_auc == 1.0 and acc.accuracy.summary.bit_exact == 6
    assert acc.firmware.source_sha256 == perf.firmware.source_sha256

    out = tmp_path / "tree"
    built = invoke("build", simulated_sessions["performance"], simulated_sessions["accuracy"], "--out", out,
                   "--org", "Acme", "--system", "sim-m4")
    assert built.exit_code == 0, built.output
    org = out / "closed" / "Acme"
    for test in ("performance", "accuracy"):
        folder = org / "results" / "sim-m4" / "ad" / test
        assert sorted(p.name for p in folder.iterdir()) == ["log.txt", "results.json", "results.txt"]
        assert "[ad01] > infer" in (folder / "log.txt").read_text()
        assert read_results(folder.parent / test).benchmarks.keys() == {"ad01"}
    text = (org / "results" / "sim-m4" / "ad" / "performance" / "results.txt").read_text()
    medians = [m.group(1) for m in map(R.MEDIAN_THROUGHPUT_RE.match, text.splitlines()) if m]
    assert medians == [f"{np.median([w.throughput for w in perf.windows]):.3f}"] and "ERROR" not in text
    assert text.count("Runtime requirements have been met.") == 5
    system = json.loads((org / "systems" / "sim-m4.json").read_text())
    assert system["Status"] == "Available" and system["Processor(s) Name"].startswith("Arm Cortex-M4")
    code = org / "code" / "anomaly_detection" / "tinyrig" / "perf"
    assert (code / "platformio.ini").is_file() and (code / "program.elf").is_file() and not (code / ".pio").exists()
    assert (code / ".tinyrig").is_dir()  # the bundled offline platform: the code folder builds as it is
    manifest = json.loads((out / "tinyrig-submission.json").read_text())
    assert [(r["test"], r["valid"]) for r in manifest["results"]] == [("accuracy", True), ("performance", True)]

    checked = invoke("check", out)
    assert checked.exit_code == 0, checked.output
    assert "submission looks OK (1 result(s)" in checked.output
    report = check_tree(out)
    (result,) = report.results
    assert result.ok and result.model == "ad" and result.accuracy == 1.0
    assert result.throughput == pytest.approx(1e6 / perf.summary.median_latency_us, rel=1e-3)
    assert not report.errors
    # The only warnings: the code folders keep .tinyrig/ (the offline platform the project builds with).
    assert report.warnings and all(w.path.endswith("/.tinyrig") and "starting with '.'" in w.message
                                   for w in report.warnings)


def test_accuracy_on_other_firmware_than_performance_is_refused(tmp_path, simulated_sessions):
    """The rules: the same code for accuracy and performance (compared by the firmware source hash)."""
    accuracy = load(simulated_sessions["accuracy"])
    accuracy["benchmarks"]["ad01"]["firmware"]["source_sha256"] = "0" * 64
    accuracy["synthetic"] = "test: accuracy made to have run other firmware"
    changed = tmp_path / "changed"
    shutil.copytree(simulated_sessions["accuracy"], changed)
    (changed / "results.json").write_text(json.dumps(accuracy))
    with pytest.raises(SubmissionError, match="accuracy ran other firmware than performance"):
        build_tree([simulated_sessions["performance"], changed], TreeOptions(tmp_path / "t", "Acme", "x"))
    assert not (tmp_path / "t").exists()
