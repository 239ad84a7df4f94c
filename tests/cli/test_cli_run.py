"""End to end through the console script: generate, build with PlatformIO, run under QEMU, measure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinyrig_testing import require_tools

pytestmark = pytest.mark.qemu


@pytest.fixture(autouse=True)
def _tools():
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")


def tinyrig(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyrig.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def session_results(root: Path) -> tuple[Path, dict]:
    (session,) = [p for p in root.iterdir() if p.is_dir()]
    return session, json.loads((session / "results.json").read_text())


def window_instructions(results: dict, benchmark: str) -> list[float]:
    return [w["instructions"] for w in results["benchmarks"][benchmark]["windows"]]


def window_cycles(results: dict, benchmark: str) -> list[float]:
    return [w["estimated_cycles"] for w in results["benchmarks"][benchmark]["windows"]]


def test_run_all_on_default_board(tmp_path, models_dir):
    proc = tinyrig("run", "--benchmark", "all", "--models", str(models_dir), "--sessions", str(tmp_path / "s1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    session, results = session_results(tmp_path / "s1")
    assert results["board"] == "qemu-mps2-an386" and results["status"] == "complete"
    assert list(results["benchmarks"]) == ["kws01", "vww01", "ic01", "ad01"]
    for bid, entry in results["benchmarks"].items():
        summary = entry["summary"]
        assert entry["status"] == "complete", bid
        assert len(entry["windows"]) == 5
        assert summary["scores_match_reference"] is True, bid
        assert all(w["bit_exact"] for w in entry["windows"]), bid
        assert all(w["instructions_source"] == "markers" for w in entry["windows"]), bid
        # Even the SIMD kernels need more than 0.2 instructions per MAC (SMLAD: 2 MACs per instruction).
        assert summary["median_instructions"] > 0.2 * entry["firmware"]["total_macs"]
        assert 0 < entry["firmware"]["flash_bytes"] <= entry["firmware"]["flash_capacity"]
        assert summary["valid"] is False  # emulated results are never submission-valid
        assert bid in proc.stdout
        # The cycle model is on by default under QEMU: an M4 spends more than one cycle per
        # instruction (loads, multiplies, branch refills), and the latency is at the 25 MHz clock.
        assert all(w["estimated_cycles"] > w["instructions"] for w in entry["windows"]), bid
        assert summary["median_estimated_cycles"] == sorted(window_cycles(results, bid))[2]
        assert summary["estimated_latency_us"] == pytest.approx(summary["median_estimated_cycles"] / 25.0)
        assert summary["cycle_model"] == "cortex-m4 timed as qemu-mps2-an386 at 25 MHz, 0 flash wait states"
        assert f"{summary['median_estimated_cycles']:,.0f}" in proc.stdout, bid
    log = (session / "log.txt").read_text()
    assert "> infer 3 1" in log and "< m-ready" in log and "< m-results-[" in log
    # `tinyrig report` re-prints the same table.
    report = tinyrig("report", str(session))
    assert report.returncode == 0 and "kws01" in report.stdout and "instr/" in report.stdout
    for bid, entry in results["benchmarks"].items():  # every figure whole, piped at 80 columns
        assert f"{entry['summary']['median_instructions']:,.0f}" in report.stdout, bid

    # Two runs give identical instruction counts, window for window, also when the second one
    # measures its benchmarks in parallel emulators (-j 2).
    again = tinyrig("run", "--benchmark", "kws01,ad01", "-j", "2", "--models", str(models_dir),
                    "--sessions", str(tmp_path / "s2"))
    assert again.returncode == 0, again.stdout + again.stderr
    _, second = session_results(tmp_path / "s2")
    for bid in ("kws01", "ad01"):
        assert window_instructions(second, bid) == window_instructions(results, bid)
        assert window_cycles(second, bid) == window_cycles(results, bid)


# The M7 and M33 boards run kws01 alone (conv, depthwise, pooling, dense, softmax): each benchmark
# is another firmware build, and their kernels are the an386's, which runs all four.
@pytest.mark.parametrize("board, benchmarks", [("qemu-mps3-an547", "all"), ("qemu-netduinoplus2", "all"),
                                               ("qemu-mps2-an500", "kws01"), ("qemu-mps2-an505", "kws01")])
def test_run_on_other_boards(tmp_path, models_dir, board, benchmarks):
    proc = tinyrig("run", "--board", board, "--benchmark", benchmarks, "--models", str(models_dir),
                   "--sessions", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, results = session_results(tmp_path)
    for bid, entry in results["benchmarks"].items():
        assert entry["summary"]["scores_match_reference"] is True, (board, bid)
        assert all(w["bit_exact"] for w in entry["windows"]), (board, bid)
        if board == "qemu-mps2-an505":
            # The Cortex-M33 is timed with the Cortex-M4's values (Arm publishes no M33 table).
            assert all(w["estimated_cycles"] > w["instructions"] for w in entry["windows"]), bid
        if board == "qemu-mps2-an500":
            # The Cortex-M7 (a board file alone: an386's map, another core) runs the DSP kernels,
            # timed by the M7 dual-issue approximation: two issue slots never take fewer cycles
            # than half the instructions.
            windows = entry["windows"]
            assert all(w["estimated_cycles"] and w["estimated_cycles"] >= w["instructions"] / 2 for w in windows)


def test_predict_times_the_run_as_a_real_mcu(tmp_path, models_dir):
    proc = tinyrig("run", "--benchmark", "ad01", "--predict", "nucleo-l4r5zi", "--no-record", "--models",
                   str(models_dir), "--sessions", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, results = session_results(tmp_path)
    p = results["benchmarks"]["ad01"]["prediction"]
    assert p["board"] == "nucleo-l4r5zi" and p["clock_hz"] == 120_000_000 and p["flash_wait_states"] == 5
    # nucleo-l4r5zi's flash has wait states, so the firmware it would run keeps ad01's 270 KB of
    # weights in RAM (in flash they streamed through the 256 B data cache and made ad01 half as
    # slow again: docs/cycle-model.md); what the flash still costs is instruction fetch, plus the
    # few constants the kernels' code keeps in flash. The core alone is the emulated board's own
    # estimate for one inference.
    assert p["constants_in_ram"] is True and p["ram_bytes"] > 270_000
    # ... and fits the L4R5 (640 KiB of RAM, 2 MiB of flash): the line says nothing of the fit.
    assert (p["ram_capacity"], p["flash_capacity"]) == (640 * 1024, 2 << 20)
    assert 0 < p["flash_bytes"] < p["flash_capacity"] and p["ram_bytes"] < p["ram_capacity"]
    assert "does not fit" not in proc.stdout
    assert p["zero_wait_cycles"] < p["cycles"] and 0 < p["fetch_stall_cycles"] <= p["cycles"] - p["zero_wait_cycles"]
    assert p["cycles"] - p["zero_wait_cycles"] - p["fetch_stall_cycles"] < 0.001 * p["cycles"]
    assert abs(p["zero_wait_cycles"] - results["benchmarks"]["ad01"]["summary"]["median_estimated_cycles"]) < 100
    # The board file takes prefetched lines as cached (ST's 0-wait-state figures); the literal
    # reading of RM0432 (never cached) is timed too, as a bound: never faster.
    assert p["other_reading"] == "prefetched lines not cached" and p["other_reading_cycles"] >= p["cycles"]
    # nucleo-l4r5zi's 1 KB flash cache sizes the kernels' loops: the firmware it would run is timed.
    assert p["code_for"] == "nucleo-l4r5zi"
    line = " ".join(proc.stdout.split())
    assert (f"ad01 predicted on nucleo-l4r5zi at 120 MHz (the firmware nucleo-l4r5zi would run: loops sized for "
            f"its flash cache, its constants copied to RAM at reset ({p['ram_bytes']:,} B of RAM in all)): "
            f"{p['cycles'] / 120e3:,.2f} ms with 5 flash wait states and its flash accelerator "
            f"({p['other_reading_cycles'] / 120e3:,.2f} ms if prefetched lines not cached), "
            f"{p['zero_wait_cycles'] / 120e3:,.2f} ms at zero wait states") in line
    # Another core is refused in one line, before anything is built.
    other = tinyrig("run", "--benchmark", "ad01", "--predict", "qemu-mps3-an547", "--sessions", str(tmp_path / "x"))
    assert other.returncode == 2 and not (tmp_path / "x").exists()
    assert other.stderr.strip().splitlines() == ["error: board qemu-mps3-an547 has a cortex-m55 but the firmware runs "
                                                 "on qemu-mps2-an386's cortex-m4: time it with a board of the same core"]


def test_missing_model_is_a_clear_failure(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-m", "tinyrig.cli", "run", "--benchmark", "kws01", "--models", str(empty),
                           "--sessions", str(tmp_path / "s")], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "TINYRIG_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)})
    assert proc.returncode == 1
    assert "no model for kws01" in proc.stderr + proc.stdout
    _, results = session_results(tmp_path / "s")
    assert results["benchmarks"]["kws01"]["status"] == "failed"


def test_unknown_board_and_benchmark():
    proc = tinyrig("run", "--board", "nope")
    assert proc.returncode == 2 and "unknown board 'nope'" in proc.stderr
    proc = tinyrig("run", "--benchmark", "xyz01")
    assert proc.returncode == 2 and "unknown benchmark 'xyz01'" in proc.stderr


@pytest.mark.parametrize("board, mcu, clock_hz, wait_states", [
    ("qemu-mps2-an505", "nucleo-u575zi-q", 160_000_000, 4),  # Cortex-M33: 8 KB ICACHE
    ("qemu-mps2-an500", "nucleo-h7a3zi-q", 280_000_000, 6),  # Cortex-M7: 16 KB L1 I-cache and D-cache
])
def test_predict_an_mcu_of_another_core_from_its_emulated_board(board, mcu, clock_hz, wait_states, tmp_path,
                                                                 models_dir):
    """An MCU timed on the emulated board of its core: its firmware keeps the constants in RAM but not
    resized loops (the 16-unit runs fit an 8 or 16 KB cache), and the flash costs next to nothing once
    the kernels sit in the cache."""
    proc = tinyrig("run", "--board", board, "--benchmark", "kws01", "--predict", mcu,
                   "--no-record", "--models", str(models_dir), "--sessions", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, results = session_results(tmp_path)
    p = results["benchmarks"]["kws01"]["prediction"]
    assert (p["board"], p["clock_hz"], p["flash_wait_states"]) == (mcu, clock_hz, wait_states)
    assert p["code_for"] == mcu and p["constants_in_ram"] and p["loops_sized_for_cache"] is False
    assert p["zero_wait_cycles"] <= p["cycles"] < 1.01 * p["zero_wait_cycles"]
    assert p["other_reading"] is None  # no prefetch modelled: no second reading of the cache rule
    assert p["ram_bytes"] < p["ram_capacity"]
    line = " ".join(proc.stdout.split())
    assert (f"kws01 predicted on {mcu} at {clock_hz // 10**6} MHz (the firmware {mcu} would run: its constants "
            "copied to RAM at reset") in line


def test_generate_and_build_each_board(tmp_path, models_dir):
    for board in ("qemu-mps2-an386", "qemu-mps3-an547", "qemu-netduinoplus2"):
        out = tmp_path / board
        gen = tinyrig("generate", "--board", board, "--model", str(models_dir / "kws01.tflite"), "--out", str(out))
        assert gen.returncode == 0, gen.stderr
        for env in ("perf", "energy"):
            build = tinyrig("build", "--project", str(out), "--env", env)
            assert build.returncode == 0, build.stdout + build.stderr
            assert ".text" in build.stdout and "flash" in build.stdout
            assert (out / ".pio" / "build" / env / "program.elf").is_file()
            assert "constants:" not in build.stdout  # emulated flash has no wait states: nothing moves


def test_build_says_where_the_constants_went(models_dir):
    """A board whose flash has wait states: all of kws01's constants fit its RAM, ic01's in part."""
    kws = tinyrig("build", "--board", "b-l475e-iot01a", "--benchmark", "kws01", "--models", str(models_dir))
    assert kws.returncode == 0, kws.stdout + kws.stderr
    assert "constants: all 31,308 B copied to RAM at reset (the flash has wait states)" in " ".join(kws.stdout.split())
    ic = tinyrig("build", "--board", "b-l475e-iot01a", "--benchmark", "ic01", "--models", str(models_dir))
    assert ic.returncode == 0, ic.stdout + ic.stderr
    assert ("constants: 30,340 of 87,996 B copied to RAM at reset (10 layers waiting on flash most per byte: 0, 1, "
            "2, 3, 4, 5, 6, 7, 10, 11; the flash has wait states), the rest in flash") in " ".join(ic.stdout.split())
