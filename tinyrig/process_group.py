"""Child processes that never outlive tinyrig: each runs in its own process group, and every way
out of the call (its end, a timeout, Ctrl-C, SIGTERM raised as KeyboardInterrupt) takes the whole
group down. A PlatformIO build is `pio` -> SCons -> gcc/cc1plus/ld; killing only `pio`, as
subprocess.run does, leaves SCons and the compilers running on into the firmware cache."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if os.name == "posix" else None


def die_with_parent(parent_pid: int) -> None:
    """Runs in the child between fork and exec: SIGKILL it when its parent dies, however it dies
    (SIGKILL included, which no handler of ours sees).

    Linux delivers the death signal when the thread that forked exits; tinyrig starts emulators and
    builds from threads that outlive them. If the parent is already gone (it died between fork and
    this call), the child exits at once instead of running as an orphan. Only the child itself gets
    the signal (its own children do not inherit it): a build's SCons then loses its output pipe.
    """
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def kill_process_group(process: subprocess.Popen, term_timeout_s: float = 3.0) -> None:
    """SIGTERM the process's group, then SIGKILL if it has not gone within `term_timeout_s`.

    The callers start their children with start_new_session=True, so the group holds the child
    and anything it spawned; nothing is left behind on any way out.
    """
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=term_timeout_s)
    except (ProcessLookupError, PermissionError):
        return
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)
    _kill_remaining(process.pid)


def _kill_remaining(group: int) -> None:
    """SIGKILL what is left of the group once its leader has gone after our SIGTERM (a child that
    ignores SIGTERM). Only right after our own signal: the group id cannot have been reused while
    members live, and it is not re-used this soon after."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_in_own_group(command: list[str], *, env: dict[str, str] | None = None, cwd=None,
                     timeout_s: float | None = None) -> subprocess.CompletedProcess:
    """subprocess.run(command, capture_output=True, text=True, stdin=DEVNULL) in a new process
    group that is killed as a whole however this call ends, and whose leader dies with tinyrig even
    by SIGKILL. TimeoutExpired is raised as subprocess.run raises it, after the group is gone."""
    parent = os.getpid()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: die_with_parent(parent))
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except BaseException:
        kill_process_group(process)
        process.communicate()  # drain and close the pipes
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
