"""Hostile command lines and session folders: options that cannot work, sessions folders that
cannot be written, sessions that cannot be resumed. Each ends before anything is built, in one
line: exit 2 for an option, 6 for a session folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tinyrig_testing.hostile_support import assert_clear, invoke

USAGE, FAILED, SESSION = 2, 1, 6
from tinyrig_testing.results_support import PERF_SESSION as PERFORMANCE  # a real recorded session

OPTIONS = {
    "iterations-zero": (["--iterations", "0"], ["--iterations must be >= 1"]),
    "iterations-negative": (["-n", "-3"], ["--iterations must be >= 1"]),
    "warmup-negative": (["--warmup", "-1"], ["--warmup must be >= 0"]),
    "limit-zero": (["--mode", "accuracy", "--dataset", ".", "--limit", "0"], ["--limit must be >= 1"]),
    "infer-timeout-zero": (["--infer-timeout", "0"], ["--infer-timeout"]),
    "jobs-zero": (["-j", "0"], ["-j"]),
    "benchmark-empty": (["--benchmark", ""], ["names no benchmark"]),
    "benchmark-commas": (["--benchmark", ",,"], ["names no benchmark"]),
    "benchmark-markup": (["--benchmark", "kws01,[/x]"], ["unknown benchmark '[/x]'"]),
    "board-markup": (["--board", "[/x]"], ["[/x]"]),
    "board-escape": (["--board", "\x1b[2Jboard"], ["\\x1b[2Jboard"]),
    "mode-unknown": (["--mode", "turbo"], ["turbo"]),
    "seed-text": (["--seed", "abc"], ["abc"]),
    "target-unknown": (["--target", "fpga"], ["fpga"]),
    "hardware-on-emulated-board": (["--target", "hardware"], ["emulated board"]),
    "accuracy-without-dataset": (["--mode", "accuracy"], ["--dataset"]),
    "dataset-missing": (["--dataset", "/nonexistent/data"], ["/nonexistent/data"]),
    "jobs-on-hardware": (["--board", "nucleo-l4r5zi", "-j", "2", "--no-flash", "--port", "loop://"], ["-j applies"]),
    "energy-on-board-without-monitor": (["--board", "nucleo-l4r5zi", "--mode", "energy", "--no-flash",
                                         "--port", "loop://"], ["--power-monitor"]),
    "power-monitor-unknown": (["--power-monitor", "multimeter"], ["multimeter"]),
}


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_option_that_cannot_work(case, tmp_path, observed, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, needles = OPTIONS[case]
    assert_clear(invoke("run", *args, "--sessions", tmp_path / "s", observed=observed), USAGE, *needles)
    assert not (tmp_path / "s").exists(), "no session is started for options that cannot work"


def test_models_folder_that_is_not_there(tmp_path, observed):
    """The benchmark fails with one line (nothing to build); its session says so."""
    result = invoke("run", "--benchmark", "kws01", "--models", tmp_path / "[/x]", "--sessions", tmp_path / "s",
                    "--no-record", observed=observed)
    assert_clear(result, FAILED, "kws01 failed", "[/x]", "no such folder")
    (session,) = (tmp_path / "s").iterdir()
    entry = json.loads((session / "results.json").read_text())["benchmarks"]["kws01"]
    assert entry["status"] == "failed" and "[/x]" in entry["error"]


@pytest.mark.parametrize("where", ["a-file", "under-a-file", "proc"])
def test_sessions_folder_that_cannot_be_written(where, tmp_path, observed):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    root = {"a-file": blocker, "under-a-file": blocker / "sessions", "proc": Path("/proc/tinyrig-sessions")}[where]
    assert_clear(invoke("run", "--benchmark", "kws01", "--sessions", root, observed=observed), SESSION,
                 f"--sessions {root}", "cannot create a session folder")


def _copy_session(tmp_path: Path, mutate=None) -> Path:
    folder = tmp_path / "session"
    shutil.copytree(PERFORMANCE, folder)
    if mutate is not None:
        results = json.loads((folder / "results.json").read_text())
        mutate(results)
        (folder / "results.json").write_text(json.dumps(results))
    return folder


def test_resume_of_a_folder_that_is_no_session(tmp_path, observed):
    assert_clear(invoke("run", "--resume", tmp_path, observed=observed), SESSION, "not a tinyrig session")


def test_resume_of_an_unreadable_results_file(tmp_path, observed):
    folder = _copy_session(tmp_path)
    (folder / "results.json").write_bytes(b"\x00\xff{garbage")
    assert_clear(invoke("run", "--resume", folder, observed=observed), SESSION, "cannot resume",
                 "unreadable results file")


def test_resume_without_options(tmp_path, observed):
    folder = _copy_session(tmp_path, lambda r: r.pop("options", None))
    assert_clear(invoke("run", "--resume", folder, observed=observed), SESSION, "no run options")


def test_resume_with_a_board_that_is_gone(tmp_path, observed):
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.boards import load_board
    from tinyrig.hil.run.options import RunOptions

    options = RunOptions(board=load_board("qemu-mps2-an386"), benchmarks=[get_benchmark("kws01")]).to_record().model_dump()
    options["board"] = str(tmp_path / "gone.toml")
    folder = _copy_session(tmp_path, lambda r: r.update(options=options))
    assert_clear(invoke("run", "--resume", folder, observed=observed), SESSION, "cannot resume", "gone.toml")


@pytest.mark.parametrize("option", [["--benchmark", "vww01"], ["-n", "7"], ["--mode", "energy"], ["--seed", "3"]])
def test_resume_cannot_change_what_is_measured(option, tmp_path, observed):
    folder = _copy_session(tmp_path)
    before = (folder / "results.json").read_bytes()
    assert_clear(invoke("run", "--resume", folder, *option, observed=observed), USAGE,
                 "cannot change them", option[0])
    assert (folder / "results.json").read_bytes() == before


def test_report_of_a_folder_that_is_no_session(tmp_path, observed):
    assert_clear(invoke("report", tmp_path, observed=observed), SESSION, "not a tinyrig session")


def test_compare_with_an_unreadable_session(tmp_path, observed):
    folder = _copy_session(tmp_path)
    (folder / "results.json").write_text("{")
    assert_clear(invoke("compare", folder, PERFORMANCE, observed=observed), SESSION, "unreadable results file")


def test_doctor_names_a_stale_emulator(tmp_path, observed):
    """A process left by a dead tinyrig (TINYRIG_PARENT names a pid that is not its parent) is named."""
    import subprocess
    import time

    # The shell is the 'tinyrig' that started the 'emulator' (sleep); it exits at once.
    shell = subprocess.Popen(["sh", "-c", "TINYRIG_PARENT=$$ exec sleep 60 & echo $!"], stdout=subprocess.PIPE,
                             text=True)
    stale_pid = int(shell.stdout.readline())
    shell.wait()
    try:
        time.sleep(0.2)
        result = invoke("doctor", observed=observed)
        assert result.code == FAILED and "Traceback" not in result.text
        named = [line for line in result.out.splitlines() if f"pid {stale_pid} " in line]
        assert len(named) == 1 and "stale emulator" in named[0] and f"kill {stale_pid}" in named[0], result.out
    finally:
        os.kill(stale_pid, 9)


# -- outputs and paths the file system refuses ---------------------------------------------------

@pytest.fixture
def device_node(tmp_path) -> Path:
    """A second node of /dev/null inside the test's folder: a device that must never be replaced."""
    node = tmp_path / "null-device"
    if os.system(f"mknod {node} c 1 3 2>/dev/null") != 0:
        pytest.skip("mknod needs root")
    return node


@pytest.mark.parametrize("kind", ["device", "pipe", "folder"])
def test_report_never_writes_over_a_device_pipe_or_folder(kind, tmp_path, device_node, observed):
    import stat

    target = {"device": device_node, "pipe": tmp_path / "pipe", "folder": tmp_path}[kind]
    if kind == "pipe":
        os.mkfifo(target)
    mode = os.stat(target).st_mode
    needles = ["is a directory"] if kind == "folder" else [f"--html {target}", "not a regular file"]
    assert_clear(invoke("report", "--html", target, PERFORMANCE, observed=observed), USAGE, *needles)
    assert os.stat(target).st_mode == mode and (kind != "device" or stat.S_ISCHR(mode))


@pytest.mark.parametrize("option", ["--junit", "--markdown"])
def test_gate_summary_into_a_pipe(option, tmp_path, observed):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    assert_clear(invoke("compare", PERFORMANCE, PERFORMANCE, option, pipe, observed=observed), USAGE,
                 f"{option} {pipe}", "not a regular file")


@pytest.mark.parametrize("command", ["history", "record"])
def test_database_that_is_a_pipe(command, tmp_path, observed):
    pipe = tmp_path / "results.sqlite"
    os.mkfifo(pipe)
    args = ["history"] if command == "history" else ["record", PERFORMANCE]
    assert_clear(invoke(*args, "--db", pipe, observed=observed), 5, str(pipe), "not a regular file")


def test_names_too_long_for_the_file_system(tmp_path, observed):
    long = "a" * 5000
    assert_ok_listing = invoke("models", "list", "--models", long, observed=observed)
    assert assert_ok_listing.code == 0 and "Traceback" not in assert_ok_listing.text
    assert_clear(invoke("history", "--db", long, observed=observed), 5, "File name too long")
    assert_clear(invoke("compare", long, long, observed=observed), USAGE, "neither a session folder")


def test_port_that_is_not_there_fails_before_building(tmp_path, observed):
    assert_clear(invoke("run", "--board", "nucleo-l4r5zi", "--no-flash", "--port", tmp_path / "ttyACM9",
                        "--sessions", tmp_path / "s", observed=observed), USAGE, "ttyACM9", "no such device")
    assert not (tmp_path / "s").exists()


def test_build_of_a_folder_that_is_no_project(tmp_path, observed):
    (tmp_path / "platformio.ini").write_text("[env:perf]\n")
    assert_clear(invoke("build", "--project", tmp_path, observed=observed), USAGE,
                 "not a project made by `tinyrig generate`")


def test_models_fetched_into_a_file(tmp_path, observed):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_clear(invoke("models", "fetch", "--dest", blocker, "--source", f"file://{tmp_path}/none", "kws01",
                        observed=observed), 1, f"--dest {blocker}", "cannot make it a folder")


def _board_path(tmp_path: Path, kind: str) -> Path:
    """A --board path that is not a board file: each must end in one line before anything builds."""
    if kind == "folder":
        (tmp_path / "board.toml").mkdir()
        return tmp_path / "board.toml"
    if kind == "pipe":
        os.mkfifo(tmp_path / "board.toml")  # reading it would block forever
        return tmp_path / "board.toml"
    if kind == "binary":
        (tmp_path / "board.toml").write_bytes(bytes(range(256)) * 4)
        return tmp_path / "board.toml"
    if kind == "huge":
        with open(tmp_path / "board.toml", "wb") as f:
            f.truncate(64 << 20)
        return tmp_path / "board.toml"
    return tmp_path / ("b" * 5000 + ".toml")  # longer than the OS allows a name


BOARD_PATHS = {"folder": "a folder", "pipe": "not a regular file", "binary": "not a text (UTF-8) file",
               "huge": "too big for a board file", "name-too-long": "cannot read the board file"}


@pytest.mark.parametrize("kind", sorted(BOARD_PATHS))
def test_board_path_that_is_not_a_board_file(kind, tmp_path, observed):
    board = _board_path(tmp_path, kind)
    result = invoke("run", "--board", board, "--benchmark", "kws01", "--sessions", tmp_path / "s", observed=observed)
    assert_clear(result, USAGE, BOARD_PATHS[kind])
    assert not (tmp_path / "s").exists()


def test_renode_scripts_for_a_board_renode_cannot_run(tmp_path, observed, models_dir):
    """generate --target renode for a board without a Renode platform: one line, status 2 and no
    project (it used to write the whole project, then fail on the scripts)."""
    out = tmp_path / "project"
    result = invoke("generate", "--board", "qemu-mps2-an386", "--model", models_dir / "kws01.tflite", "--out", out,
                    "--target", "renode", observed=observed)
    assert_clear(result, 2, "no Renode platform")
    assert not out.exists()
