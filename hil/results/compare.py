"""The regression gate: a candidate session against a baseline (or the last N good ones).

Rules, per benchmark of the baseline (defaults in `Thresholds`, documented in docs/nightly-ci.md):

- instructions (emulated): per-inference instruction counts are exact and deterministic under
  QEMU, so they must match exactly, window by window on the same input. Any change fails, with
  its size; per layer too when both sessions carry a profile (`layers`). `allow_fewer_instructions`
  lets a speed-up pass (reported, not failed).
- estimated cycles (QEMU with the cycle model): exact and deterministic too, compared the same
  way (`cycles_tolerance`, `allow_fewer_instructions` covers them as well). A baseline recorded
  before the cycle model had none: that is skipped with a note, not failed.
- latency and energy (noisy on hardware): the candidate's median against the baseline's median,
  tolerance = max(noise_k x baseline spread, rel floor x baseline median). The spread is the
  MAD-based sigma of the baseline's windows, pooled over all baselines with `--last N`.
- accuracy (top-1, AUC) and bit-exactness (n/N windows or files equal to the reference
  interpreter) must not drop; MLPerf validity must not be lost.
- flash and RAM growth fails beyond max(memory_abs bytes, memory_rel x baseline).
- a benchmark that completed in the baseline but failed or is missing in the candidate fails.

With several baselines the exact checks (instructions, memory, accuracy, bit-exactness) use the
newest one; the noisy ones pool all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from tinyrig.hil.results import figures as F
from tinyrig.hil.results.schema import results_data

PASS, FAIL, ERROR, SKIP = "pass", "fail", "error", "skip"


@dataclass
class Thresholds:
    noise_k: float = 3.0            # x baseline MAD-sigma
    latency_rel: float = 0.02       # floor: 2 % of the baseline median
    energy_rel: float = 0.02
    memory_rel: float = 0.01        # flash/RAM growth allowed: max(1 %, 256 B)
    memory_abs: int = 256
    accuracy_drop: float = 0.0      # absolute, on a 0..1 scale
    allow_fewer_instructions: bool = False
    # Per inference, absolute. 0 is the rule; a bench whose counts jitter by a few instructions
    # (an interrupt landing inside a window) can be gated meanwhile with a small allowance.
    instructions_tolerance: float = 0.0
    cycles_tolerance: float = 0.0  # per inference, estimated cycles: exact as well


@dataclass
class SessionRef:
    """A session under comparison: where it came from (folder or database id) and its results,
    held as the schema's validated data (any known version is migrated; a document of the wrong
    shape raises ResultsFileError naming the session)."""

    id: str
    results: dict  # SessionResults or any results document on the way in
    origin: str  # the folder, or "db:<url>"

    def __post_init__(self) -> None:
        self.results = results_data(self.results, f"session {self.id} ({self.origin})")

    @property
    def board(self) -> str | None:
        return self.results.get("board")

    def label(self) -> str:
        rev = self.results.get("git_revision")
        return f"{self.id}" + (f" @ {rev[:10]}" if isinstance(rev, str) else "")


@dataclass
class Check:
    benchmark: str
    name: str
    status: str
    message: str
    baseline: float | None = None
    candidate: float | None = None
    unit: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.candidate is None:
            return None
        return self.candidate - self.baseline

    @property
    def relative(self) -> float | None:
        if self.delta is None or not self.baseline:
            return None
        return self.delta / self.baseline


@dataclass
class Comparison:
    baselines: list[SessionRef]
    candidate: SessionRef
    thresholds: Thresholds
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def errors(self) -> list[Check]:
        return [c for c in self.checks if c.status == ERROR]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors

    @property
    def verdict(self) -> str:
        return "pass" if self.ok else "fail"


# -- formatting ----------------------------------------------------------------------------------

def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "instr":  # counts averaged over a window's iterations can be fractional
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    if unit == "us":
        return f"{value:,.1f} us"
    if unit == "J":
        return f"{value * 1e6:,.3f} uJ"
    if unit == "frac":
        return f"{value * 100:.2f} %"
    return f"{value:g}"


def _signed(value: float, unit: str) -> str:
    return ("+" if value >= 0 else "-") + fmt_value(abs(value), unit)


def pct(delta: float, base: float) -> str:
    return f"{delta / base * 100:+.2f}%" if base else "n/a"


def describe_change(base: float, cand: float, unit: str) -> str:
    delta = cand - base
    return f"{_signed(delta, unit)} ({pct(delta, base)}: {fmt_value(base, unit)} -> {fmt_value(cand, unit)})"


# -- checks -------------------------------------------------------------------------------------

def _instructions(bid: str, base: dict, cand: dict, th: Thresholds) -> list[Check]:
    if not (base.get("emulated") and cand.get("emulated")):
        return []
    b, c = F.instructions_by_input(base), F.instructions_by_input(cand)
    if not b and not c:
        return []
    if not b or not c:
        which = "baseline" if not b else "candidate"
        return [Check(bid, "instructions", ERROR, f"{bid}: the {which} has no instruction counts; cannot check them")]
    common = [k for k in b if k in c]
    if not common:
        return [Check(bid, "instructions", ERROR,
                      f"{bid}: inputs differ (baseline {base.get('inputs')!r}, candidate {cand.get('inputs')!r}); "
                      "exact instruction counts compare only on the same inputs (same --seed or --dataset)")]
    if (base.get("iterations"), base.get("warmup")) != (cand.get("iterations"), cand.get("warmup")):
        # A window's fixed overhead is spread over its iterations, so per-inference counts of
        # windows of different lengths differ by a few instructions without any code change.
        return [Check(bid, "instructions", ERROR,
                      f"{bid}: windows differ (baseline {base.get('iterations')} iterations + {base.get('warmup')} "
                      f"warm-up, candidate {cand.get('iterations')} + {cand.get('warmup')}); exact instruction "
                      "counts compare only between runs with the same --iterations and --warmup")]
    base_med, cand_med = F.median([b[k] for k in common]), F.median([c[k] for k in common])
    changed = [(k, b[k], c[k]) for k in common if abs(c[k] - b[k]) > th.instructions_tolerance]
    details = [f"window {k}: {describe_change(bv, cv, 'instr')}" for k, bv, cv in changed]
    details += _layer_details(base, cand, th.instructions_tolerance)
    missing = [k for k in b if k not in c]
    if missing:
        details.append(f"{len(missing)} baseline window(s) not in the candidate: {', '.join(missing[:5])}")
    if not changed and not _layers_changed(base, cand, th.instructions_tolerance):
        same = "identical" if not th.instructions_tolerance else f"within {th.instructions_tolerance:g} instructions"
        return [Check(bid, "instructions", PASS, f"{bid}: instruction counts {same} on {len(common)} window(s)",
                      base_med, cand_med, "instr", details)]
    worst = max((cv - bv for _, bv, cv in changed), key=abs, default=cand_med - base_med)
    faster = all(cv <= bv for _, bv, cv in changed) and not _layers_grew(base, cand)
    status = PASS if (faster and th.allow_fewer_instructions) else FAIL
    bf, cf = base.get("firmware") or {}, cand.get("firmware") or {}
    same_fw = all(bf.get(k) and bf.get(k) == cf.get(k) for k in ("source_sha256", "model_sha256"))
    why = ("; firmware and model hashes are identical, so the emulator, the toolchain or the counting "
           "changed" if same_fw else "")
    if not changed:
        message = f"{bid}: per-layer instruction counts changed (whole-inference counts did not)"
        return [Check(bid, "instructions", FAIL, message, base_med, cand_med, "instr", details)]
    largest = next(((bv, cv) for _, bv, cv in changed if cv - bv == worst), (base_med, cand_med))
    message = (f"{bid}: instructions per inference changed in {len(changed)}/{len(common)} window(s), largest "
               f"{describe_change(*largest, 'instr')}; median {describe_change(base_med, cand_med, 'instr')}{why}")
    return [Check(bid, "instructions", status, message, base_med, cand_med, "instr", details)]


def _cycles(bid: str, base: dict, cand: dict, th: Thresholds) -> list[Check]:
    """Estimated cycles per window, exact like instructions (same inputs and window lengths: the
    instruction check already says when those differ, so only matching windows are looked at)."""
    if not (base.get("emulated") and cand.get("emulated")):
        return []
    b, c = F.cycles_by_input(base), F.cycles_by_input(cand)
    if not b and not c:
        return []
    if not b or not c:
        which = "baseline" if not b else "candidate"
        return [Check(bid, "cycles", SKIP, f"{bid}: the {which} has no estimated cycles (run with --no-cycles, "
                                          "or recorded before the cycle model); not compared")]
    common = [k for k in b if k in c]
    if not common or (base.get("iterations"), base.get("warmup")) != (cand.get("iterations"), cand.get("warmup")):
        return []
    base_med, cand_med = F.median([b[k] for k in common]), F.median([c[k] for k in common])
    changed = [(k, b[k], c[k]) for k in common if abs(c[k] - b[k]) > th.cycles_tolerance]
    details = [f"window {k}: {describe_change(bv, cv, 'instr')}" for k, bv, cv in changed]
    models = [(x.get("summary") or {}).get("cycle_model") for x in (base, cand)]
    if models[0] != models[1]:
        details.append(f"cycle model: {models[0]} -> {models[1]}")
    if not changed:
        same = "identical" if not th.cycles_tolerance else f"within {th.cycles_tolerance:g} cycles"
        return [Check(bid, "cycles", PASS, f"{bid}: estimated cycles {same} on {len(common)} window(s)",
                      base_med, cand_med, "instr", details)]
    faster = all(cv <= bv for _, bv, cv in changed)
    status = PASS if (faster and th.allow_fewer_instructions) else FAIL
    same_instr = F.instructions_by_input(base) == F.instructions_by_input(cand)
    why = ("; instruction counts are identical, so the timing changed (cycle model data, board [timing], or "
           "the code's layout)" if same_instr else "")
    message = (f"{bid}: estimated cycles per inference changed in {len(changed)}/{len(common)} window(s); "
               f"median {describe_change(base_med, cand_med, 'instr')}{why}")
    return [Check(bid, "cycles", status, message, base_med, cand_med, "instr", details)]


def _layers_changed(base: dict, cand: dict, tolerance: float) -> bool:
    bl, cl = F.layers(base), F.layers(cand)
    if [(x.index, x.op) for x in bl] != [(x.index, x.op) for x in cl]:
        return bool(bl and cl)
    return any(abs(x.instructions - y.instructions) > tolerance for x, y in zip(bl, cl))


def _layers_grew(base: dict, cand: dict) -> bool:
    bl, cl = {x.index: x for x in F.layers(base)}, {x.index: x for x in F.layers(cand)}
    return any(i in bl and cl[i].instructions > bl[i].instructions for i in cl)


def _layer_details(base: dict, cand: dict, tolerance: float) -> list[str]:
    bl, cl = F.layers(base), F.layers(cand)
    if not bl or not cl:
        return []
    out = []
    by_index = {x.index: x for x in bl}
    for layer in cl:
        old = by_index.pop(layer.index, None)
        if old is None:
            out.append(f"layer {layer.index} {layer.op}: new ({fmt_value(layer.instructions, 'instr')} instructions)")
        elif old.op != layer.op:
            out.append(f"layer {layer.index}: op {old.op} -> {layer.op} "
                       f"({describe_change(old.instructions, layer.instructions, 'instr')})")
        elif abs(old.instructions - layer.instructions) > tolerance:
            out.append(f"layer {layer.index} {layer.op}: {describe_change(old.instructions, layer.instructions, 'instr')}")
    out += [f"layer {x.index} {x.op}: removed (was {fmt_value(x.instructions, 'instr')})" for x in by_index.values()]
    return out


def _noisy(bid: str, name: str, unit: str, rel: float, values: Callable[[dict], list[float]],
           bases: list[dict], cand: dict, th: Thresholds) -> list[Check]:
    pooled = [v for b in bases for v in values(b)]
    mine = values(cand)
    if not pooled and not mine:
        return []
    if not pooled or not mine:
        which = "baseline" if not pooled else "candidate"
        return [Check(bid, name, SKIP, f"{bid}: no {name} figures in the {which}")]
    base_med, cand_med = F.median(pooled), F.median(mine)
    spread = F.mad_spread(pooled)
    tolerance = max(th.noise_k * spread, rel * abs(base_med))
    delta = cand_med - base_med
    rule = (f"tolerance {fmt_value(tolerance, unit)} = max({th.noise_k:g} x spread {fmt_value(spread, unit)}, "
            f"{rel * 100:g}% of baseline) over {len(pooled)} baseline window(s)")
    if delta > tolerance:
        return [Check(bid, name, FAIL, f"{bid}: {name} regressed by {describe_change(base_med, cand_med, unit)}, "
                                       f"beyond the {rule}", base_med, cand_med, unit)]
    word = "improved" if delta < -tolerance else "within noise"
    return [Check(bid, name, PASS, f"{bid}: {name} {word}: {describe_change(base_med, cand_med, unit)}; {rule}",
                  base_med, cand_med, unit)]


def _memory(bid: str, base: dict, cand: dict, th: Thresholds) -> list[Check]:
    out = []
    bf, cf = base.get("firmware") or {}, cand.get("firmware") or {}
    for name, key in (("flash", "flash_bytes"), ("ram", "ram_bytes")):
        b, c = bf.get(key), cf.get(key)
        if not isinstance(b, int) or not isinstance(c, int):
            continue
        allowed = max(th.memory_abs, th.memory_rel * b)
        grew = c - b
        sections = [f"{s}: {_signed(cv - (bf.get('sections') or {}).get(s, 0), 'B')}"
                    for s, cv in (cf.get("sections") or {}).items()
                    if isinstance(cv, int) and cv != (bf.get("sections") or {}).get(s, 0)]
        rule = f"allowed growth {fmt_value(allowed, 'B')} = max({th.memory_abs} B, {th.memory_rel * 100:g}%)"
        status = FAIL if grew > allowed else PASS
        verb = "grew beyond the allowance" if status == FAIL else "changed within the allowance" if grew else "unchanged"
        out.append(Check(bid, name, status, f"{bid}: {name} {verb}: {describe_change(b, c, 'B')}; {rule}",
                         b, c, "B", sections))
    return out


def _accuracy(bid: str, base: dict, cand: dict, th: Thresholds) -> list[Check]:
    out = []
    ba, ca = F.accuracy(base), F.accuracy(cand)
    for name in ("top1", "auc"):
        if name not in ba:
            continue
        if name not in ca:
            out.append(Check(bid, f"accuracy.{name}", FAIL, f"{bid}: the candidate reports no {name} "
                                                             f"(baseline {fmt_value(ba[name], 'frac')})", ba[name], None, "frac"))
            continue
        b, c = ba[name], ca[name]
        status = FAIL if c < b - th.accuracy_drop else PASS
        verb = "dropped" if c < b else "did not drop"
        out.append(Check(bid, f"accuracy.{name}", status, f"{bid}: {name} {verb}: {describe_change(b, c, 'frac')}",
                         b, c, "frac"))
    return out


def _bit_exact(bid: str, base: dict, cand: dict) -> list[Check]:
    out = []
    be, ce = F.bit_exact(base), F.bit_exact(cand)
    for source, (bn, bt) in be.items():
        if source not in ce or not bt:
            continue
        cn, ct = ce[source]
        bfrac, cfrac = bn / bt, (cn / ct if ct else 0.0)
        status = FAIL if cfrac < bfrac else PASS
        out.append(Check(bid, f"bit_exact.{source}", status,
                         f"{bid}: bit-exact {source} {cn}/{ct} (baseline {bn}/{bt})"
                         + (": fewer outputs equal the reference" if status == FAIL else ""), bfrac, cfrac, "frac"))
    bm = (base.get("summary") or {}).get("scores_match_reference")
    cm = (cand.get("summary") or {}).get("scores_match_reference")
    if bm is True and cm is False:
        out.append(Check(bid, "scores_match_reference", FAIL,
                         f"{bid}: scores no longer match the reference interpreter (they did in the baseline)"))
    bv, cv = (base.get("summary") or {}).get("valid"), (cand.get("summary") or {}).get("valid")
    if bv is True and cv is False:
        broken = [k for k, v in ((cand.get("summary") or {}).get("validity") or {}).items() if v is False]
        out.append(Check(bid, "validity", FAIL, f"{bid}: the run is no longer a valid MLPerf Tiny run "
                                                f"({', '.join(broken) or 'see validity'})"))
    return out


def compare(baselines: list[SessionRef], candidate: SessionRef, thresholds: Thresholds | None = None) -> Comparison:
    if not baselines:
        raise ValueError("compare needs at least one baseline session")
    th = thresholds or Thresholds()
    result = Comparison(baselines, candidate, th)
    newest = baselines[0]
    for ref in baselines:
        for key in ("board", "target", "mode"):
            if ref.results.get(key) != candidate.results.get(key):
                result.notes.append(f"{key} differs: baseline {ref.id} has {ref.results.get(key)!r}, "
                                    f"candidate {candidate.results.get(key)!r}")
    cand_benches = candidate.results.get("benchmarks") or {}
    for bid, base in (newest.results.get("benchmarks") or {}).items():
        if base.get("status") != "complete":
            result.checks.append(Check(bid, "status", SKIP, f"{bid}: not complete in the baseline "
                                                            f"({base.get('status')}); nothing to compare"))
            continue
        cand = cand_benches.get(bid)
        if cand is None:
            result.checks.append(Check(bid, "status", FAIL, f"{bid}: missing from the candidate session"))
            continue
        if cand.get("status") != "complete":
            error = f": {cand.get('error')}" if cand.get("error") else ""
            result.checks.append(Check(bid, "status", FAIL, f"{bid}: {cand.get('status')} in the candidate{error}"))
            continue
        pool = [b.results["benchmarks"][bid] for b in baselines
                if (b.results.get("benchmarks") or {}).get(bid, {}).get("status") == "complete"]
        result.checks += _instructions(bid, base, cand, th)
        result.checks += _cycles(bid, base, cand, th)
        result.checks += _noisy(bid, "latency", "us", th.latency_rel, F.latencies_us, pool, cand, th)
        result.checks += _noisy(bid, "energy", "J", th.energy_rel, F.energy_per_inference, pool, cand, th)
        result.checks += _accuracy(bid, base, cand, th)
        result.checks += _bit_exact(bid, base, cand)
        result.checks += _memory(bid, base, cand, th)
    for bid in cand_benches:
        if bid not in (newest.results.get("benchmarks") or {}):
            result.notes.append(f"{bid}: new in the candidate (no baseline to compare with)")
    return result
