"""`tinyrig run -j N` against `-j 1`: wall time of each and whether the figures are identical.

    python benchmarks/parallel_runs.py --jobs 2 --benchmark all
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tinyrig.hil.results.schema import SessionResults, read_results


def run(jobs: int, benchmark: str, board: str, sessions: Path) -> tuple[float, SessionResults]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tinyrig.cli", "run", "--board", board, "--benchmark", benchmark,
                           "-j", str(jobs), "--no-record", "--sessions", str(sessions)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"-j {jobs} failed:\n{proc.stdout}\n{proc.stderr}")
    (session,) = [p for p in sessions.iterdir() if p.is_dir()]
    return wall, read_results(session)


def figures(results: SessionResults) -> dict:
    return {bid: [(w.instructions, w.scores) for w in entry.windows] for bid, entry in results.benchmarks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--benchmark", default="all")
    parser.add_argument("--board", default="qemu-mps2-an386")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(1, args.benchmark, args.board, Path(tmp) / "warm")  # builds the firmware once, untimed
        serial_s, serial = run(1, args.benchmark, args.board, Path(tmp) / "serial")
        parallel_s, parallel = run(args.jobs, args.benchmark, args.board, Path(tmp) / "parallel")
    print(f"-j 1: {serial_s:6.1f} s wall")
    print(f"-j {args.jobs}: {parallel_s:6.1f} s wall ({serial_s / parallel_s:.2f}x)")
    print(f"figures identical: {'yes' if figures(serial) == figures(parallel) else 'NO'}")


if __name__ == "__main__":
    main()
