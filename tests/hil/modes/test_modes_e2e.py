"""Accuracy and energy modes end to end under QEMU, on small datasets in the official layout that
the tests create; resuming after the emulator is killed mid-run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tinyrig_testing import require_tools
from tinyrig.benchmarks import get_benchmark
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.hil.results.schema import ResultsFileError, read_results

pytestmark = pytest.mark.qemu


@pytest.fixture(autouse=True)
def _tools():
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")


def make_dataset(root: Path, models_dir: Path, files_per_benchmark: int = 4) -> Path:
    """Small datasets in the official layout: labels are the reference model's own argmax for half
    the files (so top-1 is known exactly) and deliberately wrong for the rest."""
    rng = np.random.default_rng(11)
    for bid in ("kws01", "vww01", "ic01"):
        bench = get_benchmark(bid)
        folder = root / bid
        folder.mkdir(parents=True)
        reference = ReferenceModel(models_dir / f"{bid}.tflite", bench)
        rows = []
        for i in range(files_per_benchmark):
            data = rng.integers(0, 256, bench.input_bytes, dtype=np.uint8).tobytes()
            (folder / f"in{i}.bin").write_bytes(data)
            scores = [float(s) for s in reference.run(data).scores]
            classes = len(scores)
            label = int(np.argmax(scores)) if i % 2 == 0 else (int(np.argmax(scores)) + 1) % classes
            rows.append(f"in{i}.bin,{classes},{label}")
        (folder / "y_labels.csv").write_text("\n".join(rows) + "\n")
    # ad01: windows of the real spectrogram (normal) and a noisier copy (anomalous).
    folder = root / "ad01"
    folder.mkdir()
    sample = models_dir.parent / "samples" / "ad01" / "normal_id_01_00000000_hist_librosa.bin"
    base = np.fromfile(sample, dtype="<f4") if sample.is_file() else rng.normal(-30, 5, 25600).astype("<f4")
    base[:5120].astype("<f4").tofile(folder / "normal.bin")
    (base[:5120] + rng.normal(0, 10, 5120)).astype("<f4").tofile(folder / "anomaly.bin")
    (folder / "y_labels.csv").write_text("normal.bin,2,0,2560,5120\nanomaly.bin,2,1,2560,5120\n")
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, models_dir) -> Path:
    return make_dataset(tmp_path_factory.mktemp("dataset"), models_dir)


def tinyrig(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyrig.cli", *args], capture_output=True, text=True, timeout=timeout)


def only_session(root: Path) -> Path:
    (session,) = [p for p in root.iterdir() if p.is_dir()]
    return session


def test_accuracy_all_four(tmp_path, dataset, models_dir):
    proc = tinyrig("run", "--mode", "accuracy", "--benchmark", "all", "--dataset", str(dataset),
                   "--models", str(models_dir), "--sessions", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    session = only_session(tmp_path)
    results = json.loads((session / "results.json").read_text())
    for bid in ("kws01", "vww01", "ic01"):
        acc = results["benchmarks"][bid]["accuracy"]
        assert acc["summary"]["top1"] == pytest.approx(0.5), bid  # half the labels were made wrong
        assert acc["summary"]["bit_exact"] == acc["summary"]["checked"] == 4, bid
        assert sum(map(sum, acc["summary"]["confusion"])) == 4
        assert results["benchmarks"][bid]["input_path"] == "semihost-batch"  # accuracy under QEMU: batched
    ad = results["benchmarks"]["ad01"]["accuracy"]
    assert ad["summary"]["inputs"] == 2 * ((5120 * 4 - 2560) // 5120 + 1)  # 2 files, a window every 5120 bytes
    assert ad["summary"]["auc"] == 1.0  # the noisy file reconstructs worse
    assert "bit-exact" in proc.stdout and "4/4" in proc.stdout  # the header wraps at 80 columns
    # One result folder per benchmark in the runner's layout, each marked as emulated.
    for bid in ("kws01", "vww01", "ic01"):
        text = (session / bid / "accuracy" / "results.txt").read_text()
        assert "ulp-mlperf: Top 1% = 50.0" in text, bid
        assert "ERROR - emulated on qemu" in text.splitlines()[-1], bid
    assert "ulp-mlperf: AUC = 1.000" in (session / "ad01" / "accuracy" / "results.txt").read_text()
    assert not (session / "results.txt").exists()


def test_fast_path_and_db_path_agree(tmp_path, dataset, models_dir):
    outputs = {}
    for flag, name in (("--no-fast-load", "db"), (None, "semihost-batch")):
        args = ["run", "--mode", "accuracy", "--benchmark", "kws01", "--dataset", str(dataset),
                "--models", str(models_dir), "--sessions", str(tmp_path / name)]
        proc = tinyrig(*args, *([flag] if flag else []))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results = json.loads((only_session(tmp_path / name) / "results.json").read_text())
        assert results["benchmarks"]["kws01"]["input_path"] == name
        outputs[name] = [f["score"] for f in results["benchmarks"]["kws01"]["accuracy"]["files"]]
    assert outputs["db"] == outputs["semihost-batch"]


def test_energy_mode_is_exact_and_repeatable(tmp_path, models_dir):
    energies = []
    for run in ("a", "b"):
        proc = tinyrig("run", "--mode", "energy", "--benchmark", "ad01", "--models", str(models_dir),
                       "--sessions", str(tmp_path / run))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        session = only_session(tmp_path / run)
        results = json.loads((session / "results.json").read_text())
        energy = results["benchmarks"]["ad01"]["energy"]
        assert len(energy["windows"]) == 5
        for w in energy["windows"]:
            assert (session / w["trace_csv"]).is_file() and (session / w["trace_png"]).stat().st_size > 1000
            # Power model x clock model: E = V * I * instructions / f, exactly.
            assert w["energy_j"] == pytest.approx(w["window_s"] * energy["power_model"]["supply_v"]
                                                  * energy["power_model"]["active_current_a"], rel=1e-9)
        assert results["benchmarks"]["ad01"]["summary"]["scores_match_reference"] is True
        text = (session / "ad01" / "energy" / "results.txt").read_text()
        assert text.startswith("Power Edition Output") and "below minimum duration" in text
        assert "Median energy cost" not in text and "Emulated on qemu" in text  # never a valid result
        assert sorted(p.name for p in (session / "ad01" / "energy").glob("*.png")) == \
            [f"energy_inf_{i:03d}.png" for i in range(5)]
        energies.append([w["energy_j"] for w in energy["windows"]])
        # The window edges are exact instruction counts from the pin stores.
        from tinyrig.hil.instruments.trace import PowerTrace

        trace = PowerTrace.from_csv(session / energy["windows"][0]["trace_csv"])
        assert len(trace.falling_edges()) == 2
        # Time comes from the cycle model's estimated cycles at the board clock, and the run says so.
        assert energy["clock_model"].startswith("estimated cycles")
        assert "Emulated energy: estimated cycles" in proc.stdout.replace("\n", " ")
    assert energies[0] == energies[1]
    # Without the cycle model the same windows are timed by instructions: an M4 needs ~1.43 cycles
    # per instruction on ad01 (`tinyrig profile`), so the cycle-timed energy is that much larger.
    proc = tinyrig("run", "--mode", "energy", "--benchmark", "ad01", "--no-cycles", "--models", str(models_dir),
                   "--sessions", str(tmp_path / "instructions"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plain = json.loads((only_session(tmp_path / "instructions") / "results.json").read_text())["benchmarks"]["ad01"]
    assert plain["energy"]["clock_model"].startswith("1 instruction per cycle")
    ratios = [c / i for c, i in zip(energies[0], [w["energy_j"] for w in plain["energy"]["windows"]])]
    assert all(1.3 < r < 1.6 for r in ratios), ratios


def test_energy_mode_without_pin_model_fails_clearly(tmp_path, models_dir):
    proc = tinyrig("run", "--mode", "energy", "--board", "qemu-netduinoplus2", "--benchmark", "ad01",
                   "--models", str(models_dir), "--sessions", str(tmp_path))
    assert proc.returncode == 1
    assert "no timestamp pin" in proc.stdout + proc.stderr


def test_killed_emulator_then_resume(tmp_path, models_dir):
    """Kill QEMU in the middle of an accuracy run; --resume finishes it with complete results."""
    data = make_dataset(tmp_path / "ds", models_dir, files_per_benchmark=12)
    sessions = tmp_path / "sessions"
    cmd = [sys.executable, "-m", "tinyrig.cli", "run", "--mode", "accuracy", "--benchmark", "vww01",
           "--dataset", str(data), "--models", str(models_dir), "--sessions", str(sessions), "--no-fast-load"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = threading.Event()

    def kill_qemu_after_some_files():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            for results_file in sessions.glob("*/results.json"):
                try:
                    entry = read_results(results_file.parent).benchmarks.get("vww01")
                except ResultsFileError:
                    continue
                files = entry.accuracy.files if entry is not None and entry.accuracy is not None else []
                if len(files) >= 3:
                    out = subprocess.run(["pgrep", "-f", f"qemu-system-arm.*{results_file.parent.name}"],
                                         capture_output=True, text=True)
                    for pid in out.stdout.split():
                        os.kill(int(pid), signal.SIGKILL)
                        killed.set()
                    if killed.is_set():
                        return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_qemu_after_some_files)
    killer.start()
    output, _ = proc.communicate(timeout=600)
    killer.join()
    assert killed.is_set(), output
    assert proc.returncode == 1, output
    session = only_session(sessions)
    partial = json.loads((session / "results.json").read_text())
    entry = partial["benchmarks"]["vww01"]
    assert entry["status"] == "failed" and "QEMU exited" in entry["error"]
    kept = len(entry["accuracy"]["files"])
    assert 3 <= kept < 12

    resumed = tinyrig("run", "--resume", str(session))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    final = json.loads((session / "results.json").read_text())
    acc = final["benchmarks"]["vww01"]["accuracy"]
    assert [f["index"] for f in acc["files"]] == list(range(12))
    assert acc["summary"]["files"] == 12 and acc["summary"]["bit_exact"] == 12
    assert final["status"] == "complete"
