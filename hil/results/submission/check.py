"""`tinyrig submission check DIR`: the published MLPerf Tiny checker's rules applied to a tree.

Each rule of tools/submission/submission_checker.py (rules.py holds its names, targets, file
lists and the lines it parses) becomes a finding with the path it concerns and a sentence saying
what is wrong, where the checker would only log or stop. Where the checker lets something pass
that is not a valid measurement, tinyrig is stricter and says so ("tinyrig rule"):

- a results.txt that reports an ERROR (the runner's ERROR 1 / ERROR 2, energy's
  `ERROR: Not valid for submission`, tinyrig's `emulated on <target>`) fails, even where the
  checker reads only the median line;
- a required test folder that is missing, or holds other files than the required ones, fails
  (the checker logs these and carries on).

A model's result counts when its performance (or sww's) folder gives a result, its accuracy
meets the quality target (closed division; open only reports it) and its energy folder, if any,
gives a median energy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tinyrig.hil.results.submission import rules as R
from tinyrig.hil.results.txt import EMULATED_RE

ERROR, WARNING = "error", "warning"


@dataclass
class Finding:
    level: str
    path: str  # relative to the tree's root
    message: str


@dataclass
class ModelResult:
    division: str
    organization: str
    system: str
    model: str
    throughput: float | None = None  # inf./sec.
    accuracy: float | None = None  # top-1 (percent) or AUC, as the target says
    energy_uj: float | None = None  # median per inference (sww: power in mW)
    ok: bool = False


@dataclass
class CheckReport:
    root: Path
    findings: list[Finding] = field(default_factory=list)
    results: list[ModelResult] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.results) and all(r.ok for r in self.results)


class _Checker:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.report = CheckReport(self.root)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() if path != self.root else "."

    def error(self, path: Path, message: str) -> None:
        self.report.findings.append(Finding(ERROR, self.rel(path), message))

    def warn(self, path: Path, message: str) -> None:
        self.report.findings.append(Finding(WARNING, self.rel(path), message))

    # -- the whole tree --------------------------------------------------------------------------

    def run(self) -> CheckReport:
        if not self.root.is_dir():
            self.error(self.root, "not a folder")
            return self.report
        divisions = sorted(p for p in self.root.iterdir() if p.is_dir())
        for division in divisions:
            if division.name not in R.DIVISIONS:
                if division.name not in R.IGNORED_TOP_DIRS:
                    self.error(division, f"not a division (the top level holds {' and '.join(R.DIVISIONS)})")
                continue
            for org in sorted(p for p in division.iterdir() if p.is_dir()):
                self.organization(division.name, org)
        if not any(d.name in R.DIVISIONS for d in divisions):
            self.error(self.root, f"no {'/'.join(R.DIVISIONS)} division folder: not a submission tree")
        return self.report

    def organization(self, division: str, org: Path) -> None:
        results = org / "results"
        if not results.is_dir():
            self.warn(org, "no results folder: nothing of this organization is checked")
            return
        if not self.folder_rules(org):
            return
        for system in sorted(p for p in results.iterdir() if p.is_dir()):
            system_json = self.system_description(org, system.name)
            if system_json is None:
                continue
            for model in sorted(p for p in system.iterdir() if p.is_dir()):
                self.model(division, org.name, model)

    def folder_rules(self, org: Path) -> bool:
        """The checker's folder-wide rules; False when one makes the whole organization fail."""
        ok = True
        for dirpath, dirnames, filenames in os.walk(org):
            here = Path(dirpath)
            if here.name == "__pycache__":
                self.error(here, "__pycache__ folders are not allowed")
                ok = False
            if not dirnames and not filenames:
                self.error(here, "empty folders are not allowed")
                ok = False
            for name in dirnames + filenames:
                path = here / name
                if path.is_symlink():
                    self.error(path, "symbolic links are not allowed")
                    ok = False
                if name.startswith("."):
                    self.warn(path, "a name starting with '.' is unfriendly to git")
                if " " in name:
                    self.warn(path, "a name with spaces")
            for name in filenames:
                path = here / name
                if not path.is_symlink() and path.stat().st_size > R.FILE_SIZE_LIMIT:
                    self.error(path, f"larger than the {R.FILE_SIZE_LIMIT // 2**20} MiB file size limit")
                    ok = False
        return ok

    def system_description(self, org: Path, system: str) -> dict | None:
        path = org / "systems" / f"{system}.json"
        if not path.is_file():
            self.error(org / "results" / system, f"no system description systems/{system}.json")
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self.error(path, f"not valid JSON: {exc}")
            return None
        if not isinstance(data, dict):
            self.error(path, "not a JSON object")
            return None
        status = str(data.get("Status", "")).lower()
        if status not in R.AVAILABILITIES:
            self.error(path, f"Status is {data.get('Status')!r}; allowed: {', '.join(R.AVAILABILITIES)}")
            return None
        if data.get("system_type") is not None:
            self.error(path, f"system_type is {data['system_type']!r}; the v1.x rules take none")
            return None
        return data

    # -- one model -------------------------------------------------------------------------------

    def model(self, division: str, org: str, folder: Path) -> None:
        name = folder.name
        system = folder.parent.name
        closed = division == "closed"
        result = ModelResult(division, org, system, name)
        self.report.results.append(result)
        if name not in R.MODELS:
            self.error(folder, f"{name!r} is not a benchmark of the {R.RULES_VERSION} rules ({', '.join(R.MODELS)}); "
                               "tinyrig's ids map as kws01 -> kws, vww01 -> vww, ic01 -> ic, ad01 -> ad, sww01 -> sww")
            return
        if name == "ic2" and not (folder.parent / "ic").is_dir():
            self.error(folder, "ic2 results need the ic results of the same system")
            return
        allowed = set(R.REQUIRED_TESTS[name]) | set(R.OPTIONAL_TESTS[name])
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            if sub.name not in allowed:
                self.error(sub, f"not a test of {name} (allowed: {', '.join(sorted(allowed))})")
        for test in R.REQUIRED_TESTS[name]:
            if not (folder / test).is_dir():
                self.error(folder / test, f"missing: {name} needs {' and '.join(R.REQUIRED_TESTS[name])} results")
        if name == "sww":
            result.ok = self.sww(folder, result, closed)
            return
        accuracy_ok = self.accuracy(folder / "accuracy", name, result, closed)
        performance_ok = self.performance(folder / "performance", result)
        energy_ok = self.energy(folder / "energy", result) if (folder / "energy").is_dir() else True
        result.ok = accuracy_ok and performance_ok and energy_ok

    def files(self, folder: Path, extra: tuple[str, ...] = ()) -> bool:
        present = {p.name for p in folder.iterdir() if p.is_file()}
        required = set(R.REQUIRED_FILES) | set(extra)
        missing = sorted(required - present)
        unexpected = sorted(present - required - set(R.OPTIONAL_FILES))
        if missing:
            self.error(folder, f"missing {', '.join(missing)}")
        if unexpected:
            self.error(folder, f"files the checker does not expect here: {', '.join(unexpected)}")
        return not missing and not unexpected

    def lines(self, folder: Path) -> list[str] | None:
        path = folder / "results.txt"
        if not path.is_file():
            return None
        return path.read_text(encoding="utf-8", errors="replace").splitlines()

    def reported_errors(self, folder: Path, lines: list[str]) -> bool:
        """tinyrig rule: a results.txt that reports an ERROR is not a valid result."""
        errors = [line for line in lines if "ERROR" in line]
        for line in errors:
            why = "emulated, not a measurement" if EMULATED_RE.search(line) else "the run broke a rule"
            self.error(folder / "results.txt", f"{why}: {line.strip()}")
        return not errors

    def accuracy(self, folder: Path, model: str, result: ModelResult, closed: bool) -> bool:
        if not folder.is_dir():
            return False
        files_ok = self.files(folder)
        lines = self.lines(folder)
        if lines is None:
            return False
        metric, target = R.ACCURACY_TARGET[model]
        pattern = R.AUC_RE if metric == "auc" else R.TOP1_RE
        found = [m.group(1) for m in map(pattern.match, lines) if m]
        clean = self.reported_errors(folder, lines)
        if not found:
            self.error(folder / "results.txt", f"no {'`AUC = `' if metric == 'auc' else '`Top 1% = `'} line")
            return False
        try:
            value = float(found[-1])  # the checker keeps the last one
        except ValueError:
            self.error(folder / "results.txt", f"unreadable {metric} {found[-1]!r}")
            return False
        result.accuracy = value
        unit = "%" if metric == "top-1" else ""
        if value < target:
            message = f"{metric} {value:g}{unit} is below the quality target {target:g}{unit}"
            if closed:
                self.error(folder / "results.txt", message)
                return False
            self.warn(folder / "results.txt", message + " (reported as is in the open division)")
        return files_ok and clean

    def performance(self, folder: Path, result: ModelResult) -> bool:
        if not folder.is_dir():
            return False
        files_ok = self.files(folder)
        lines = self.lines(folder)
        if lines is None:
            return False
        found = [m.group(1) for m in map(R.MEDIAN_THROUGHPUT_RE.match, lines) if m]
        clean = self.reported_errors(folder, lines)
        if not found:
            self.error(folder / "results.txt", "no `Median throughput is ... inf./sec.` line: no valid performance "
                                               "result (the runner writes it only for 5 windows of >= 10 s)")
            return False
        result.throughput = float(found[-1])
        return files_ok and clean

    def energy(self, folder: Path, result: ModelResult) -> bool:
        lines = self.lines(folder)
        if lines is None:
            self.error(folder, "missing results.txt")
            return False
        found = [m.group(1) for m in map(R.MEDIAN_ENERGY_RE.search, lines) if m]
        clean = self.reported_errors(folder, lines)
        if not found:
            self.error(folder / "results.txt", "no `Median energy cost is ... uJ/inf.` line: no valid energy result")
            return False
        result.energy_uj = float(found[-1])
        present = {p.name for p in folder.iterdir() if p.is_file()}
        missing = sorted(set(R.REQUIRED_FILES) - present)
        if missing:
            self.error(folder, f"missing {', '.join(missing)}")
        return clean and not missing

    def sww(self, folder: Path, result: ModelResult, closed: bool) -> bool:
        energy = folder / "energy"
        source = energy if energy.is_dir() else folder / "performance"
        if not source.is_dir():
            self.error(folder, "sww needs a performance or an energy folder")
            return False
        files_ok = self.files(source, (R.SWW_ENERGY_PLOT,) if source == energy else ())
        lines = self.lines(source)
        if lines is None:
            return False
        clean = self.reported_errors(source, lines)
        throughput = [m.group(1) for m in map(R.SWW_THROUGHPUT_RE.search, lines) if m]
        counts = [m.groups() for m in map(R.SWW_ACCURACY_RE.search, lines) if m]
        duty = [m.group(1) for m in map(R.SWW_DUTY_CYCLE_RE.search, lines) if m]
        where = source / "results.txt"
        for what, found in (("`Estimated throughput:`", throughput), ("`Accuracy: N True positives, ...`", counts),
                            ("`Average duty cycle:`", duty)):
            if not found:
                self.error(where, f"no {what} line")
        if not (throughput and counts and duty):
            return False
        result.throughput = float(throughput[-1])
        tp, fn, fp = (int(v) for v in counts[-1])
        ok = files_ok and clean
        if tp + fn != R.SWW_WAKEWORDS:
            self.error(where, f"true positives ({tp}) + false negatives ({fn}) != {R.SWW_WAKEWORDS}")
            ok = False
        result.accuracy = 2 * tp / (2 * tp + fp + fn)  # the checker's F1 score
        max_fp, max_fn = R.ACCURACY_TARGET["sww"][1]
        if fp > max_fp or fn > max_fn:
            message = f"{fp} false positives and {fn} false negatives; the target is at most {max_fp} and {max_fn}"
            if closed:
                self.error(where, message)
                ok = False
            else:
                self.warn(where, message + " (reported as is in the open division)")
        if source == energy:
            power = [m.group(1) for m in map(R.SWW_POWER_RE.search, lines) if m]
            if not power:
                self.error(where, "no `Power : ... mW` line")
                return False
            result.energy_uj = float(power[-1])
        return ok


def check_tree(root: Path) -> CheckReport:
    """Applies the checker's rules (and tinyrig's stricter ones) to the submission tree at `root`."""
    return _Checker(Path(root)).run()
