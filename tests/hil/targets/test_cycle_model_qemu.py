"""The cycle model under QEMU: the TRM's sequences give exactly the documented cycles, taken and
not-taken branches differ by the refill, runs are identical, and the instruction counts do not
change with the model on (sequence images and a firmware build)."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from tinyrig.boards import load_board
from tinyrig.hil.targets.cycle_model import cycle_model_for, load_core_timing
from tinyrig.hil.targets.cycle_sequences import M4_SEQUENCES, M7_SEQUENCES, M55_SEQUENCES, run_sequences
from tinyrig.hil.targets.pinwatch import MarkerLog, build_plugin, plugin_args
from tinyrig_testing import require_tools

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def qemu_tools():
    require_tools("qemu-system-arm", "arm-none-eabi-gcc", "gcc")


def _mismatches(results) -> list[str]:
    return [f"{r.sequence.name}: model {r.cycles}, documented {r.sequence.expected} ({r.sequence.source})"
            for r in results if not r.matches]


def test_m4_trm_sequences_give_the_documented_cycles(qemu_tools):
    results = run_sequences(load_board("qemu-mps2-an386"), M4_SEQUENCES)
    assert not _mismatches(results), "\n".join(_mismatches(results))


def test_m7_and_m55_approximations_follow_their_rules(qemu_tools):
    an386 = load_board("qemu-mps2-an386")
    m7 = dataclasses.replace(cycle_model_for(an386), core=load_core_timing("cortex-m7"))
    results = run_sequences(an386, M7_SEQUENCES, m7) + run_sequences(load_board("qemu-mps3-an547"), M55_SEQUENCES)
    assert not _mismatches(results), "\n".join(_mismatches(results))


def test_taken_and_not_taken_branches_differ_by_the_refill(qemu_tools):
    by_name = {r.sequence.name: r for r in run_sequences(load_board("qemu-mps2-an386"), M4_SEQUENCES)}
    taken, not_taken = by_name["CMP; BEQ taken"], by_name["CMP; BEQ not taken"]
    # not taken also executes the NOP the taken branch skips
    assert (taken.cycles - 1) - (not_taken.cycles - 2) == load_core_timing("cortex-m4").cycles["branch_refill"]
    assert not_taken.instructions == taken.instructions + 1


def test_runs_are_identical_and_instruction_counts_unchanged(qemu_tools, tmp_path):
    board = load_board("qemu-mps2-an386")
    model = cycle_model_for(board, timing=load_board("nucleo-l4r5zi"))  # flash model on: the most state
    run_sequences(board, M4_SEQUENCES, model, workdir=tmp_path / "a")
    run_sequences(board, M4_SEQUENCES, model, workdir=tmp_path / "b")
    first, second = (tmp_path / "a" / "marks.txt").read_text(), (tmp_path / "b" / "marks.txt").read_text()
    assert first == second != ""
    # the same image without the cycle model: the same instruction counts at the same stores
    plain = tmp_path / "plain.txt"
    cmd = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-icount", "shift=0",
           "-semihosting-config", "enable=on,target=native",
           *plugin_args(build_plugin(), board.timestamp_pin.register, plain), "-kernel", str(tmp_path / "a" / "sequences.elf")]
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)
    with_model = [m.instructions for m in MarkerLog(tmp_path / "a" / "marks.txt").read_new()]
    without = [m.instructions for m in MarkerLog(plain).read_new()]
    assert with_model == without and len(without) == 2 * (len(M4_SEQUENCES) + 1)
    assert all(m.cycles is None for m in MarkerLog(plain).read_new())


def test_plugin_names_a_bad_parameter_file(qemu_tools, tmp_path):
    bad = tmp_path / "model.txt"
    bad.write_text("branch_refill 2\nflash_wait_states 3\n")  # flash model without a region
    cmd = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none",
           *plugin_args(build_plugin(), 0x40028000, tmp_path / "m.txt", cycles=bad), "-kernel", "/dev/null"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert f"pinwatch: {bad}: flash model needs flash_read_bytes a power of two" in proc.stderr


def test_firmware_counts_unchanged_and_cycles_repeatable(qemu_tools, models_dir):
    """ad01 built as `tinyrig run` builds it: the same input three times in one QEMU session
    (different timer phases, so QEMU cuts blocks differently) gives the same cycles, and the
    instruction counts equal those of a run without the cycle model."""
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.build.firmware_cache import prepare_firmware
    from tinyrig.hil.dut.inputs import random_inputs
    from tinyrig.hil.run.profile import run_inferences

    board, bench = load_board("qemu-mps2-an386"), get_benchmark("ad01")
    firmware = prepare_firmware(board, bench, models_dir / "ad01.tflite")
    data = random_inputs(bench, 1, seed=3)[0].data
    plain = run_inferences(board, firmware.build.elf, [data])
    timed = run_inferences(board, firmware.build.elf, [data] * 3, cycle_model=cycle_model_for(board))
    assert [r.instructions for r in timed] == [plain[0].instructions] * 3
    assert len({r.cycles for r in timed}) == 1
    cycles, split = timed[0].cycles, timed[0].cycle_split
    assert plain[0].instructions < cycles < 3 * plain[0].instructions
    assert sum(dataclasses.astuple(split)) == cycles and split.fetch == 0 and min(dataclasses.astuple(split)) >= 0


def test_benchmark_script_runs_end_to_end(qemu_tools, models_dir):
    """benchmarks/cycle_model.py (the issue's printed validation) runs through every section,
    the cost section's semihosting input load included (it once stopped there when the console
    began refusing files the bench had not written)."""
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "benchmarks" / "cycle_model.py"
    proc = subprocess.run([sys.executable, str(script), "--benchmarks", "ad01", "--models", str(models_dir),
                           "--cost-iterations", "1"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for heading in ("Benchmarks: one inference", "Prediction: the cortex-m4 firmware", "Cost: QEMU host CPU time"):
        assert heading in proc.stdout, heading
    assert "plugin + cycle + flash model" in proc.stdout
    # One prediction per M4 MCU with [timing]; ad01's 274 KB of constants fit the L4R5's RAM, not the L475's.
    assert "timed as nucleo-l4r5zi" in proc.stdout and "timed as b-l475e-iot01a" in proc.stdout
    assert "the cortex-m7 firmware nucleo-h7a3zi-q would run, on qemu-mps2-an500" in proc.stdout
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("ad01") and "of" in line]
    assert [row[-4:] for row in rows] == [["71,616", "of", "274,200", "B"], ["103,824", "of", "274,200", "B"]], rows
