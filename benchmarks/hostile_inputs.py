"""Runs the hostile-input suite (tests/hostile) and counts how each case ended.

    python benchmarks/hostile_inputs.py            # every case, QEMU ones included
    python benchmarks/hostile_inputs.py --fast     # without the cases that build firmware or start QEMU

Prints: cases, clear errors (the case ended as it should: one line, its exit status, nothing
lost), tracebacks, hangs, leaked processes (emulators alive after the tinyrig that started them),
other failures, and the time taken. Exits non-zero unless every case ended clearly.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="Skip the cases marked qemu.")
    parser.add_argument("pytest_args", nargs="*", help="Passed on to pytest (e.g. -k models).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tinyrig-hostile-") as tmp:
        report = Path(tmp) / "cases.jsonl"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(REPO / "tests" / "hostile")]
        if args.fast:
            command += ["-m", "not qemu"]
        started = time.monotonic()
        proc = subprocess.run(command + args.pytest_args, cwd=REPO, env=dict(os.environ, TINYRIG_HOSTILE_REPORT=str(report)),
                              capture_output=True, text=True)
        took = time.monotonic() - started
        cases = [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []
    ran = [c for c in cases if c["outcome"] != "skipped"]
    tracebacks = sum(c["tracebacks"] + c["raised"] for c in ran)
    hangs = sum(c["hangs"] for c in ran)
    leaked = sum(c["leaked"] for c in ran)
    troubled = [c for c in ran if c["tracebacks"] or c["raised"] or c["hangs"] or c["leaked"]]
    clear = sum(1 for c in ran if c["outcome"] == "passed" and c not in troubled)
    # A case that failed its assertions (wrong status, two lines, a path not named) without a
    # traceback, hang or leak behind it.
    other = sum(1 for c in ran if c["outcome"] != "passed" and c not in troubled)
    print(f"cases            {len(ran)}" + (f" ({len(cases) - len(ran)} skipped)" if len(cases) > len(ran) else ""))
    print(f"clear errors     {clear}")
    print(f"tracebacks       {tracebacks}")
    print(f"hangs            {hangs}")
    print(f"leaked processes {leaked}")
    print(f"other failures   {other}")
    print(f"commands run     {sum(c['commands'] for c in ran)}")
    print(f"time             {took:.0f} s")
    if proc.returncode != 0 or clear != len(ran) or not ran:
        print("\n".join(proc.stdout.splitlines()[-40:]), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
