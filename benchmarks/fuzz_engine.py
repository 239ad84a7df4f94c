#!/usr/bin/env python3
"""Differential fuzzing of tinyrig's engine against TensorFlow Lite Micro.

    python benchmarks/fuzz_engine.py --models 1000 [--seed 0] [--jobs 2]
                                     [--keep-failures DIR] [--extended]

Builds N random int8 models (tests/tinyrig_testing/tflite_builder.py; model i uses seed S+i),
runs each in the TFLM interpreter on several random inputs, compiles it with the
engine, links batches of models into one host executable, and compares the outputs
byte for byte.  Prints progress, per-op counts and, last,

    models tested: N / mismatches: M

"tested" counts models whose outputs were compared.  Models that could not be
compared (the engine refused or crashed, the C++ did not build, the executable
died, or the interpreter rejected the model, which would be a builder bug) are
listed above that line; the exit status is 1 if anything failed.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the test helpers package, tinyrig_testing

from tinyrig_testing import fuzz_harness as fh  # noqa: E402
from tinyrig_testing import tflite_builder as tb  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, required=True, help="number of random models")
    ap.add_argument("--seed", type=int, default=0, help="first seed (model i uses seed+i)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel workers")
    ap.add_argument("--keep-failures", metavar="DIR", help="save failing models, inputs, "
                    "expected and actual outputs, and a report, to DIR")
    ap.add_argument("--extended", action="store_true", help="also generate features outside "
                    "issue 4's op list (UnsupportedModelError is then counted, not failed)")
    ap.add_argument("--batch", type=int, default=250, help="models linked per executable")
    ap.add_argument("--inputs", type=int, default=32, help="random inputs per model")
    ap.add_argument("--no-sanitize", action="store_true",
                    help="do not rebuild failing models under ASan/UBSan")
    args = ap.parse_args(argv)

    kw = {"extended": True} if args.extended else {}
    specs = [(args.seed + i, kw) for i in range(args.models)]
    keep = Path(args.keep_failures) if args.keep_failures else None
    # Kernel-runtime objects compiled once for the whole run.
    obj_dir = tempfile.TemporaryDirectory(prefix="tinyrig_fuzz_objs_")
    obj_cache = Path(obj_dir.name)

    status = collections.Counter()
    per_op = collections.defaultdict(collections.Counter)  # op -> status counts
    failures: list[fh.Outcome] = []
    t0 = time.time()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.jobs) as pool:
        for start in range(0, len(specs), args.batch):
            chunk = specs[start:start + args.batch]
            # Golden outputs in parallel; each TFLM run is itself in a forked child.
            cases = pool.starmap(fh.make_case, [(s, args.inputs) for s in chunk])
            outcomes = fh.evaluate(cases, jobs=args.jobs, obj_cache=obj_cache,
                                   sanitize_confirm=not args.no_sanitize)
            for o in outcomes:
                st = o.status
                if st == "unsupported" and args.extended:
                    st = "unsupported (extended)"
                status[st] += 1
                if o.case is not None:
                    for op in set(o.case.desc["ops"]):
                        per_op[op][st] += 1
                if st not in ("ok", "unsupported (extended)"):
                    failures.append(o)
                    print(f"FAIL {o.report()}\n", flush=True)
                    if keep is not None and o.case is not None:
                        o.case.save(keep, o.got)
            done = start + len(chunk)
            print(f"[{done}/{len(specs)}] {time.time() - t0:6.1f}s  "
                  + "  ".join(f"{k}: {v}" for k, v in sorted(status.items())), flush=True)

    obj_dir.cleanup()
    if keep is not None and failures:
        keep.mkdir(parents=True, exist_ok=True)
        (keep / "report.txt").write_text("\n\n".join(o.report() for o in failures) + "\n")

    print("\nper op (models containing the op):")
    print(f"  {'op':20s} {'tested':>7s} {'mismatch':>9s} {'other failures':>15s}")
    for op in tb.CORE_OPS:
        c = per_op.get(op, collections.Counter())
        tested = c["ok"] + c["mismatch"]
        other = sum(v for k, v in c.items() if k not in ("ok", "mismatch", "unsupported (extended)"))
        extra = f"  (+{c['unsupported (extended)']} unsupported extended)" if c["unsupported (extended)"] else ""
        print(f"  {op:20s} {tested:7d} {c['mismatch']:9d} {other:15d}{extra}")
    others = {k: v for k, v in status.items() if k not in ("ok", "mismatch")}
    if others:
        print("not compared: " + ", ".join(f"{k}: {v}" for k, v in sorted(others.items())))
    print(f"elapsed: {time.time() - t0:.1f}s with {args.jobs} jobs")
    tested = status["ok"] + status["mismatch"]
    print(f"models tested: {tested} / mismatches: {status['mismatch']}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
