"""A comparison as CI job pages want it: JUnit XML (one test case per benchmark and check, which
GitLab, Jenkins and the GitHub test-report actions all render) and a Markdown summary (for
$GITHUB_STEP_SUMMARY, a merge-request note or a chat message)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tinyrig.hil.results.compare import ERROR, FAIL, SKIP, Check, Comparison, fmt_value, pct


def junit_xml(comparison: Comparison) -> str:
    checks = comparison.checks
    suites = ET.Element("testsuites", name="tinyrig compare", tests=str(len(checks)),
                        failures=str(len(comparison.failures)), errors=str(len(comparison.errors)))
    suite = ET.SubElement(suites, "testsuite", name=f"tinyrig compare {comparison.candidate.board or ''}".strip(),
                          tests=str(len(checks)), failures=str(len(comparison.failures)),
                          errors=str(len(comparison.errors)),
                          skipped=str(sum(c.status == SKIP for c in checks)), time="0")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="candidate", value=comparison.candidate.label())
    for ref in comparison.baselines:
        ET.SubElement(props, "property", name="baseline", value=ref.label())
    for check in checks:
        case = ET.SubElement(suite, "testcase", classname=f"tinyrig.{comparison.candidate.board}.{check.benchmark}",
                             name=check.name, time="0")
        body = "\n".join([check.message, *check.details])
        if check.status == FAIL:
            ET.SubElement(case, "failure", message=check.message, type="regression").text = body
        elif check.status == ERROR:
            ET.SubElement(case, "error", message=check.message, type="not-comparable").text = body
        elif check.status == SKIP:
            ET.SubElement(case, "skipped", message=check.message)
        else:
            ET.SubElement(case, "system-out").text = body
    if comparison.notes:
        ET.SubElement(suite, "system-out").text = "\n".join(comparison.notes)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _change(check: Check) -> str:
    if check.delta is None:
        return ""
    sign = "+" if check.delta >= 0 else "-"
    return f"{sign}{fmt_value(abs(check.delta), check.unit)} ({pct(check.delta, check.baseline or 0)})"


def markdown(comparison: Comparison) -> str:
    c = comparison
    bad = c.failures + c.errors
    head = "PASS" if c.ok else f"FAIL: {len(c.failures)} regression(s)" + (f", {len(c.errors)} error(s)" if c.errors else "")
    lines = [f"## tinyrig compare: {head}", "",
             f"- candidate: `{c.candidate.label()}` ({c.candidate.board}, {c.candidate.results.get('mode')})",
             *[f"- baseline: `{b.label()}`" for b in c.baselines], ""]
    lines += [f"> {n}" for n in c.notes] + ([""] if c.notes else [])
    if bad:
        lines += ["### Regressions", ""]
        for check in bad:
            lines.append(f"- **{check.benchmark} {check.name}**: {check.message}")
            lines += [f"  - {d}" for d in check.details[:20]]
            if len(check.details) > 20:
                lines.append(f"  - ... {len(check.details) - 20} more")
        lines.append("")
    lines += ["### All checks", "", "| benchmark | check | baseline | candidate | change | result |",
              "|---|---|---:|---:|---:|---|"]
    for check in c.checks:
        result = check.status.upper() if check.status in (FAIL, ERROR) else check.status
        lines.append(f"| {check.benchmark} | {check.name} | {fmt_value(check.baseline, check.unit)} | "
                     f"{fmt_value(check.candidate, check.unit)} | {_cell(_change(check))} | {result} |")
    t = c.thresholds
    lines += ["", f"<sub>Thresholds: instructions exact; latency/energy max({t.noise_k:g} x MAD-sigma, "
                  f"{t.latency_rel * 100:g}% / {t.energy_rel * 100:g}%); memory max({t.memory_abs} B, "
                  f"{t.memory_rel * 100:g}%); accuracy drop {t.accuracy_drop:g}.</sub>", ""]
    return "\n".join(lines)


def write(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
