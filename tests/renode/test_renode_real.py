"""End to end under a real Renode (the slow tier: marked `renode` and `qemu`).

CI unpacks the Renode 1.16.0 build beside the repository into tinyrig's cache (scripts/setup.sh
--test), so these run there and fail, not skip, if it is missing; elsewhere they need Renode on
PATH or TINYRIG_RENODE. One firmware build per benchmark and mode, shared through tinyrig's
firmware cache; each tinyrig run is one subprocess, as a user would start it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest
from tinyrig_testing.fake_renode import TRANSCRIPTS, load_transcript
from tinyrig_testing.record_renode_transcripts import record

from tinyrig.benchmarks import STANDARD_BENCHMARKS, get_benchmark
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.renode.scripts import shipped_platform
from tinyrig.renode.version import read_version

pytestmark = [pytest.mark.renode, pytest.mark.qemu]

F4 = "renode-stm32f4-discovery"
F767 = "renode-nucleo-f767zi"


def tinyrig(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyrig.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def run_session(env: dict[str, str], sessions: Path, *args: str) -> dict:
    """`tinyrig run ... --sessions DIR`, checked to succeed; the session's results.json."""
    sessions.mkdir(parents=True, exist_ok=True)
    proc = tinyrig(env, "run", "--sessions", str(sessions), *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (session,) = [p for p in sessions.iterdir() if p.is_dir()]
    return json.loads((session / "results.json").read_text())


@pytest.fixture(scope="module")
def canary() -> Path:
    """A `renode-*` folder in the system temp dir, as another program (or user) might own: a Renode
    run with the system TMPDIR deletes it (its suffix is no live pid)."""
    path = Path(tempfile.gettempdir()) / f"renode-tinyrig-canary-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    (path / "keep.txt").write_text("not Renode's\n")
    yield path
    (path / "keep.txt").unlink(missing_ok=True)
    path.rmdir()


@pytest.fixture(scope="module")
def performance(renode_env, models_dir, tmp_path_factory, canary) -> dict:
    """All four benchmarks in performance mode under Renode (inputs through the monitor)."""
    return run_session(renode_env, tmp_path_factory.mktemp("renode-perf"), "--target", "renode", "--board", F4,
                       "--benchmark", "all", "--models", str(models_dir))


def test_four_benchmarks_are_bit_exact_and_count_qemus_instructions(performance, renode_env, models_dir,
                                                                    tmp_path, real_renode):
    qemu = run_session(renode_env, tmp_path / "qemu", "--board", "qemu-mps2-an386", "--benchmark", "all",
                       "--models", str(models_dir))
    version = str(read_version(str(real_renode)))
    for bid in STANDARD_BENCHMARKS:
        entry = performance["benchmarks"][bid]
        assert entry["status"] == "complete", entry.get("error")
        summary = entry["summary"]
        assert summary["scores_match_reference"] and summary["windows"] == 5, summary
        assert [w["bit_exact"] for w in entry["windows"]] == [True] * 5
        assert entry["input_path"] == "renode-monitor"
        assert entry["emulator"]["version"] == version
        # Same Cortex-M4 code and inputs on both emulators, so the same instructions between the
        # window markers, except (measured) one instruction fewer per window under Renode and the
        # 5-instruction SysTick_Handler once per timer wrap inside the window: the timer wraps every
        # 2^24 cycles, about every 100 ms at Renode's 168 MHz, rarely at QEMU an386's 25 MHz.
        for mine, theirs in zip(entry["windows"], qemu["benchmarks"][bid]["windows"]):
            assert mine["input"] == theirs["input"]
            difference = (mine["instructions"] - theirs["instructions"]) * mine["iterations"]
            wraps = 1 + mine["ticks"] // 2**24  # at most, under Renode
            assert abs(difference) <= 1 + 5 * wraps + 5, (bid, mine["instructions"], theirs["instructions"])


def test_a_renode_folder_in_the_system_temp_dir_survives_a_run(performance, canary):
    assert performance["benchmarks"]["kws01"]["status"] == "complete"
    assert (canary / "keep.txt").read_text() == "not Renode's\n"


def _kws_dataset(root: Path, models_dir: Path, files: int = 6) -> Path:
    """kws01 inputs in the official layout; labels are the reference's argmax for even files, wrong for odd."""
    bench = get_benchmark("kws01")
    reference = ReferenceModel(models_dir / "kws01.tflite", bench)
    rng = np.random.default_rng(21)
    folder = root / "kws01"
    folder.mkdir(parents=True)
    rows = []
    for i in range(files):
        data = rng.integers(0, 256, bench.input_bytes, dtype=np.uint8).tobytes()
        (folder / f"in{i}.bin").write_bytes(data)
        scores = reference.run(data).scores
        label = int(np.argmax(scores)) if i % 2 == 0 else (int(np.argmax(scores)) + 1) % len(scores)
        rows.append(f"in{i}.bin,{len(scores)},{label}")
    (folder / "y_labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_kws01_accuracy_through_the_monitor(renode_env, models_dir, tmp_path):
    dataset = _kws_dataset(tmp_path / "dataset", models_dir)
    results = run_session(renode_env, tmp_path / "sessions", "--target", "renode", "--board", F4, "--mode", "accuracy",
                          "--benchmark", "kws01", "--dataset", str(dataset), "--models", str(models_dir))
    entry = results["benchmarks"]["kws01"]
    assert entry["status"] == "complete", entry.get("error")
    assert entry["input_path"] == "renode-monitor"
    summary = entry["summary"]
    assert summary["accuracy"] == pytest.approx(0.5), summary
    assert summary["bit_exact"] == summary["checked"] == summary["inputs"] == 6, summary


def test_kws01_energy_over_db(renode_env, models_dir, tmp_path):
    """Energy mode, with the standard `db` input path (--no-fast-load), so that path is run too."""
    results = run_session(renode_env, tmp_path, "--target", "renode", "--board", F4, "--mode", "energy",
                          "--benchmark", "kws01", "--no-fast-load", "--models", str(models_dir))
    entry = results["benchmarks"]["kws01"]
    assert entry["status"] == "complete", entry.get("error")
    assert entry["input_path"] == "db"
    assert entry["summary"]["scores_match_reference"] is True
    assert entry["summary"]["median_energy_per_inference_j"] > 0


def test_f767_runs_on_this_renode(renode_env, models_dir, tmp_path, real_renode):
    """On 1.16.0 (no nucleo_f767zi.repl) through tinyrig's description; on a newer Renode through its own."""
    results = run_session(renode_env, tmp_path, "--target", "renode", "--board", F767, "--benchmark", "kws01",
                          "--models", str(models_dir), "-n", "1")
    entry = results["benchmarks"]["kws01"]
    assert entry["status"] == "complete", entry.get("error")
    assert [w["bit_exact"] for w in entry["windows"]] == [True] * 5
    own = real_renode.parent / "platforms" / "boards" / "nucleo_f767zi.repl"
    if (real_renode.parent / ".renode-root").is_file() and not own.is_file():
        assert entry["emulator"]["platform"] == str(shipped_platform("nucleo_f767zi.repl"))
        assert "using tinyrig's renode/platforms/nucleo_f767zi.repl" in entry["emulator"]["notes"][0]
    elif own.is_file():
        assert entry["emulator"]["platform"] == "platforms/boards/nucleo_f767zi.repl"


@pytest.mark.parametrize("board", [F4, F767])
def test_generated_robot_suite_passes_under_renode_test(board, renode_test, renode_env, models_dir, tmp_path):
    project = tmp_path / "fw"
    for args in (("generate", "--board", board, "--target", "renode", "--model", str(models_dir / "kws01.tflite"),
                  "--out", str(project)), ("build", "--project", str(project))):
        proc = tinyrig(renode_env, *args)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    launcher, env = renode_test
    # Its own TMPDIR (renode-test starts Renode), robot server port picked free, results kept here.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(env, TMPDIR=str(scratch))
    proc = subprocess.run([str(launcher), "-P", "0", "-r", str(tmp_path / "results"),
                           str(project / "renode" / f"{board}.robot")], capture_output=True, text=True,
                          timeout=600, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Tests finished successfully" in proc.stdout
    assert proc.stdout.count("with status") == 3 and "FAIL" not in proc.stdout


def test_the_fake_replays_what_this_renode_says(real_renode, tmp_path):
    """Re-records the transcripts with the installed Renode: the fast tier must replay today's Renode."""
    fresh = record(str(real_renode), tmp_path)
    stored_path = TRANSCRIPTS / f"renode-{fresh['renode']}.json"
    if not stored_path.is_file():
        pytest.fail(f"no recorded transcript for Renode {fresh['renode']}: run "
                    f"PYTHONPATH=tests python -m tinyrig_testing.record_renode_transcripts --renode {real_renode}")
    stored = load_transcript(stored_path)
    same_build = fresh["version_output"] == stored["version_output"]

    def answers(session: dict) -> list[str]:
        # Another build of the same release differs only in the banner's build tag.
        return [e["answer"] if same_build else re.sub(r"Renode, version [^\r\n]*", "", e["answer"])
                for e in session["exchanges"]]

    for name, session in stored["sessions"].items():
        got = fresh["sessions"][name]
        assert [e["line"] for e in got["exchanges"]] == [e["line"] for e in session["exchanges"]], name
        assert answers(got) == answers(session), name
        if same_build:
            assert got["greeting"] == session["greeting"], name
